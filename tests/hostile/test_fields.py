"""Every wrong type for every field of every JSON body (gen_fields.py)."""

import gen_fields
from hostile import check_all


def test_fields(world):
    check_all(world, "fields", gen_fields.fields(world))

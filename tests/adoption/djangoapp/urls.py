"""Only the admin: the adoption test uses the ORM and management commands, not these views."""
from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]

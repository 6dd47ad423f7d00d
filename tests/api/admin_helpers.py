"""Driving the admin console as a browser would, over HTTP only: pages parsed with Python's
html.parser, forms found by their fields, the CSRF token read from the page it came in."""

import html
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import requests


class Form:
    def __init__(self, action, method):
        self.action = action
        self.method = method
        self.fields = []  # (name, value) pairs as a browser would send them, in order
        self.names = set()  # every named control, sent or not
        self.buttons = []  # (name, value) of submit buttons

    def data(self, **changes):
        """The form's pairs, with fields changed (None removes a field, a list repeats it)."""
        out = [(k, v) for k, v in self.fields if k not in changes]
        for k, v in changes.items():
            if v is None:
                continue
            for one in v if isinstance(v, list) else [v]:
                out.append((k, one))
        return out

    def value(self, name):
        for k, v in self.fields:
            if k == name:
                return v
        return None


class PageParser(HTMLParser):
    """Forms, links, error lists beside fields, and the page's text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.links = []
        self.text = []
        self.errors = {}  # field name -> messages (ul.errorlist id="id_<name>_error")
        self._form = None
        self._select = None
        self._option = None
        self._textarea = None
        self._errorlist = None
        self._in_li = False
        self._title = False
        self.title = ""
        self._h1 = False
        self.h1 = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = Form(a.get("action"), (a.get("method") or "get").lower())
            self.forms.append(self._form)
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "title":
            self._title = True
        elif tag == "h1":
            self._h1 = True
        elif tag == "ul" and "errorlist" in (a.get("class") or ""):
            ident = a.get("id") or ""
            m = re.match(r"id_(.+)_error$", ident)
            self._errorlist = m.group(1) if m else "__all__"
        elif tag == "li" and self._errorlist is not None:
            self._in_li = True
            self.errors.setdefault(self._errorlist, []).append("")
        if self._form is None:
            return
        f = self._form
        if tag == "input":
            name, kind = a.get("name"), (a.get("type") or "text").lower()
            if not name:
                return
            f.names.add(name)
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    f.fields.append((name, a.get("value", "on")))
            elif kind == "submit":
                f.buttons.append((name, a.get("value", "")))
            else:
                f.fields.append((name, a.get("value", "")))
        elif tag == "button" and a.get("name"):
            f.buttons.append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            f.names.add(a["name"])
            self._select = [a["name"], None, None]  # name, first option, selected option
        elif tag == "option" and self._select is not None:
            self._option = a.get("value", "")
            if self._select[1] is None:
                self._select[1] = self._option
            if "selected" in a:
                self._select[2] = self._option
        elif tag == "textarea" and a.get("name"):
            f.names.add(a["name"])
            self._textarea = [a["name"], ""]

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "title":
            self._title = False
        elif tag == "h1":
            self._h1 = False
        elif tag == "ul":
            self._errorlist = None
        elif tag == "li":
            self._in_li = False
        elif tag == "select" and self._select is not None and self._form is not None:
            name, first, selected = self._select
            self._form.fields.append((name, selected if selected is not None else (first or "")))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            value = self._textarea[1]
            if value.startswith("\n"):
                value = value[1:]
            self._form.fields.append((self._textarea[0], value))
            self._textarea = None

    def handle_data(self, data):
        self.text.append(data)
        if self._textarea is not None:
            self._textarea[1] += data
        if self._title:
            self.title += data
        if self._h1:
            self.h1 += data
        if self._in_li and self._errorlist is not None:
            self.errors[self._errorlist][-1] += data


class Page:
    def __init__(self, resp):
        self.resp = resp
        self.status = resp.status_code
        self.html = resp.text
        p = PageParser()
        p.feed(self.html)
        self.forms = p.forms
        self.links = p.links
        self.errors = {k: [m.strip() for m in v] for k, v in p.errors.items()}
        self.text = re.sub(r"\s+", " ", " ".join(p.text))
        self.title = p.title.strip()
        self.h1 = p.h1.strip()

    def form(self, *names):
        """The first form with all these fields."""
        for f in self.forms:
            if all(n in f.names or any(b[0] == n for b in f.buttons) for n in names):
                return f
        raise AssertionError(f"no form with fields {names} on the page; forms: "
                             f"{[sorted(f.names) for f in self.forms]}\n{self.text[:800]}")

    def has_link(self, href):
        return href in self.links


class Admin:
    """A browser-like session on the admin console."""

    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.trust_env = False

    def url(self, path):
        return path if path.startswith("http") else self.base_url + path

    def get(self, path, **kw):
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 30)
        return self.http.get(self.url(path), **kw)

    def page(self, path, status=200):
        resp = self.get(path)
        assert resp.status_code == status, f"GET {path}: {resp.status_code} {resp.headers.get('Location')} {resp.text[:500]}"
        return Page(resp)

    def post(self, path, data, **kw):
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 30)
        return self.http.post(self.url(path), data=data, **kw)

    def submit(self, path, *names, button=None, **changes):
        """GETs the page, fills the form that has these fields, posts it to the page."""
        page = self.page(path)
        form = page.form(*names)
        data = form.data(**changes)
        if button:
            data.append((button, ""))
        return self.post(path if not form.action else form.action, data)

    def login(self, email, password, next_path=None):
        path = "/admin/login/" + (f"?next={next_path}" if next_path else "")
        return self.submit(path, "username", "password", username=email, password=password)

    def logged_in(self, email, password):
        resp = self.login(email, password)
        assert resp.status_code == 302, f"login failed: {resp.status_code} {resp.text[:400]}"
        return self


def location_path(resp):
    loc = resp.headers.get("Location", "")
    parts = urlsplit(loc)
    return parts.path + (("?" + parts.query) if parts.query else "")


def message_of(page):
    m = re.search(r'<ul class="messagelist"><li class="(\w+)">(.*?)</li>', page.html, re.S)
    return (m.group(1), html.unescape(m.group(2))) if m else (None, None)

"""The English catalog keeps up with the Chinese source strings.

Chinese is written straight into the code and templates; English comes from
gridapp/translations/en/LC_MESSAGES/messages.po. Nothing else notices when a new
string is left untranslated (the English page silently shows Chinese) or when a
translation drops a ``%(name)s`` placeholder (a KeyError or a garbled message at
run time), so these tests do. To fix a failure, refresh and translate the catalog:

    pybabel extract -F gridapp/translations/babel.cfg -k _l -k lazy_gettext \
        -o gridapp/translations/messages.pot --no-location --sort-output --project gridapp gridapp templates
    pybabel update -i gridapp/translations/messages.pot -d gridapp/translations --no-fuzzy-matching
"""
import re

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import render_template_string

from gridapp.config import PROJECT_ROOT

TRANSLATIONS = PROJECT_ROOT / "gridapp" / "translations"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]")


def extracted_messages():
    """(msgid, context) of every translatable string in gridapp/ and templates/, as pybabel extract finds them."""
    with open(TRANSLATIONS / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    for source in ("gridapp", "templates"):
        for _file, _line, message, _comments, context in extract_from_dir(
                PROJECT_ROOT / source, method_map, options_map, keywords=KEYWORDS):
            found.add((message[0] if isinstance(message, tuple) else message, context))
    return found


def english_catalog():
    with open(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale="en")


def as_tuple(text):
    return text if isinstance(text, tuple) else (text,)


def test_every_source_string_has_an_english_translation():
    catalog = english_catalog()
    missing = []
    for msgid, context in sorted(extracted_messages(), key=lambda m: (m[0], m[1] or "")):
        entry = catalog.get(msgid, context=context)
        if entry is None or entry.fuzzy or not all(as_tuple(entry.string)):
            missing.append(msgid)
    assert not missing, "untranslated in en/messages.po:\n  " + "\n  ".join(missing)


def test_translations_keep_the_placeholders():
    wrong = []
    for entry in english_catalog():
        if not entry.id:
            continue
        expected = sorted(set(PLACEHOLDER.findall(" ".join(as_tuple(entry.id)))))
        for text in as_tuple(entry.string):
            if text and sorted(set(PLACEHOLDER.findall(text))) != expected:
                wrong.append(f"{entry.id!r} -> {text!r} (expected {expected})")
    assert not wrong, "placeholders differ:\n  " + "\n  ".join(wrong)


# One request per test: the ``app`` fixture keeps one app context open, so flask-babel's
# locale, cached in ``g`` by the first request, would stick for a second one.
def test_login_page_is_chinese_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page and "Log in" not in page


def test_login_page_is_english_with_the_lang_cookie(client):
    client.set_cookie("lang", "en")
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page, "no English on /login: is the catalog compiled? (make translations)"
    assert "登录" not in page


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_a_templates_underscore_prints_what_jinjas_newstyle_gettext_prints(app, language):
    """The app's one-call ``_`` (web._template_underscore) against the i18n extension's ``gettext``:
    the page's language, values escaped in an autoescaped template and not in one that is not, ``%%``."""
    cases = ("{{ _('签到') }}", "{{ _('您好，%(name)s', name=who) }}", "{{ _('集合：%(place)s', place=where) }}",
             "{{ _('满 100%% 的%(n)s', n=who) }}", "{{ _('<strong>%(n)s</strong> 分', n=who) }}")
    values = {"who": "<b>蒋生军</b>", "where": "A & B"}
    with app.test_request_context("/", headers={"Cookie": f"lang={language}"}):
        for case in cases:
            theirs = case.replace("_(", "gettext(")
            for wrap in ("{}", "{{% autoescape false %}}{}{{% endautoescape %}}"):
                assert (render_template_string(wrap.format(case), **values)
                        == render_template_string(wrap.format(theirs), **values)), (case, wrap)
        assert render_template_string(cases[1], **values) == (
            "Hello, &lt;b&gt;蒋生军&lt;/b&gt;" if language == "en" else "您好，&lt;b&gt;蒋生军&lt;/b&gt;")
        assert render_template_string(cases[3], **values).startswith("满 100% 的")
        assert render_template_string(cases[4], **values) == "<strong>&lt;b&gt;蒋生军&lt;/b&gt;</strong> 分"

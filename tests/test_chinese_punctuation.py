"""Chinese text uses full-width punctuation: a half-width ? ! : ; , next to a CJK character ("确认作废?")
is a typo in zh_CN. Scans every translatable string, the text of every template (the PDFs are Chinese
without a catalog) and every Chinese string literal in the code."""
import ast
import re

from gridapp.config import PROJECT_ROOT

from .test_translations import extracted_messages

# CJK characters, and the full-width punctuation and ellipsis that sit among them
CJK = r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff60\u2026\u2014]"
# (after a Latin letter or digit it is Latin text: "tel:" before a number, "10:00")
HALF_WIDTH_NEXT_TO_CJK = re.compile(rf"{CJK}\s?[?!:;,]|(?<![A-Za-z0-9])[?!:;,]{CJK}")
# A value put into a Chinese sentence stands for Chinese text: "确认作废 %(no)s?" is "确认作废 字?".
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%[sd]")
JINJA_VALUE = re.compile(r"{{.*?}}", re.S)
JINJA_TAG = re.compile(r"{%.*?%}|{#.*?#}", re.S)


def offences(text: str) -> list[str]:
    if not re.search(CJK, text):
        return []
    text = PLACEHOLDER.sub("字", text)
    return [text[max(m.start() - 8, 0):m.end() + 8] for m in HALF_WIDTH_NEXT_TO_CJK.finditer(text)]


def test_translatable_strings_use_full_width_punctuation():
    bad = {message: offences(message) for message, _context in extracted_messages()
           if isinstance(message, str) and offences(message)}
    assert not bad, f"half-width punctuation in Chinese strings: {bad}"


def test_template_text_uses_full_width_punctuation():
    bad = {}
    for path in sorted((PROJECT_ROOT / "templates").rglob("*.html")):
        # the text around the Jinja tags (their Chinese strings are checked above, as messages)
        text = JINJA_TAG.sub("", JINJA_VALUE.sub("字", path.read_text(encoding="utf-8")))
        found = offences(text)
        if found:
            bad[str(path.relative_to(PROJECT_ROOT))] = found
    assert not bad, f"half-width punctuation next to Chinese in templates: {bad}"


def docstrings(tree) -> set[int]:
    """ids of the docstring nodes (English prose that names Chinese UI terms)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_chinese_string_literals_in_the_code_use_full_width_punctuation():
    bad = {}
    for path in sorted((PROJECT_ROOT / "gridapp").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
                    and re.search(CJK, node.value)):
                found = offences(node.value)
                if found:
                    bad.setdefault(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}", []).extend(found)
    assert not bad, f"half-width punctuation next to Chinese in string literals: {bad}"


def test_the_scan_catches_the_mistakes_it_is_for():
    assert offences("确认作废 %(no)s?")  # the example from the issue
    assert offences("您确定吗?") and offences("注意:路滑") and offences("铁锹,扫帚") and offences("名额已满!")
    assert not offences("确认作废 %(no)s？") and not offences("10:00—12:00 集合") and not offences("tel:%(p)s 电话")
    assert not offences("Confirm void of %(no)s?")  # English

"""Staff Markdown, however hostile, comes out as HTML that validates."""

import re
from html.parser import HTMLParser

import markdown
import nh3
import pytest

from core.markup import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    URL_SCHEMES,
    render_markdown,
    sanitize_html,
)
from tests.security.xss_payloads import PAYLOADS

PHRASING = {"strong", "em", "b", "i", "u", "s", "code", "sup", "sub", "span", "a", "img", "br"}
HEADINGS = {"h2", "h3", "h4", "h5", "h6"}
VOID = {"br", "hr", "img"}
ONLY_CHILDREN = {  # parents whose children are limited to these tags (and blank text)
    "ul": {"li"},
    "ol": {"li"},
    "table": {"thead", "tbody", "tr"},
    "thead": {"tr"},
    "tbody": {"tr"},
    "tr": {"td", "th"},
}
ONLY_INSIDE = {"li": {"ul", "ol"}, "tr": {"thead", "tbody", "table"}, "td": {"tr"}, "th": {"tr"}}
ONLY_INSIDE.update({part: {"table"} for part in ("thead", "tbody")})
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


class StrictChecker(HTMLParser):
    """What the Nu validator would say about a fragment placed in a <div>,
    for the tags the sanitiser allows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = ["div"]
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        parent = self.stack[-1]
        if parent in ONLY_CHILDREN and tag not in ONLY_CHILDREN[parent]:
            self.errors.append(f"<{tag}> inside <{parent}>")
        if tag in ONLY_INSIDE and parent not in ONLY_INSIDE[tag]:
            self.errors.append(f"<{tag}> inside <{parent}>")
        phrasing_only = {"p", "pre", *HEADINGS, *PHRASING} & set(self.stack)
        if tag not in PHRASING and phrasing_only:
            self.errors.append(f"block <{tag}> inside <{sorted(phrasing_only)[0]}>")
        if tag == "a" and "a" in self.stack:
            self.errors.append("<a> inside <a>")
        if tag in HEADINGS and "th" in self.stack:
            self.errors.append(f"<{tag}> inside <th>")
        if tag == "img" and (attributes.get("alt") is None or not attributes.get("src")):
            self.errors.append(f"<img> without alt or src: {attributes}")
        if tag == "a" and "href" not in attributes:
            self.errors.append(f"<a> without href: {attributes}")
        for name, value in attributes.items():
            value = value or ""
            if name in {"width", "height", "colspan", "rowspan"} and not value.isdigit():
                self.errors.append(f"{name}={value!r}")
            if name in {"href", "src"} and re.search(r"[\s\"<>\\^`{|}]|%(?![0-9A-Fa-f]{2})", value):
                self.errors.append(f"{name}={value!r} is not a valid URL")
            if FORBIDDEN.search(value):
                self.errors.append(f"forbidden character in {name}")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or len(self.stack) == 1 or self.stack[-1] != tag:
            self.errors.append(f"stray </{tag}> (open: {self.stack[1:]})")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and self.stack[-1] in ONLY_CHILDREN:
            self.errors.append(f"text {data!r} inside <{self.stack[-1]}>")
        if FORBIDDEN.search(data):
            self.errors.append("forbidden character in text")


def validation_errors(html: str) -> list[str]:
    checker = StrictChecker()
    checker.feed(html)
    checker.close()
    if len(checker.stack) > 1:
        checker.errors.append(f"unclosed {checker.stack[1:]}")
    return checker.errors


EDGE_CASES = [
    "![](photo.jpg)",
    '<img src="photo.jpg">',
    '<img alt="no source">',
    "[a link](javascript:alert(1))",
    '<a name="anchor">named</a>',
    "<p>one<blockquote>quoted</blockquote></p>",
    "text <a href=x><blockquote>quoted</blockquote></a> more",
    "<h2><p>heading</p></h2>",
    "<pre><h2>code</h2></pre>",
    "<li>loose item</li>",
    "<ul><p>not an item</p>text</ul>",
    "<table><caption>c</caption><tr><td>x</td></tr>loose text</table>",
    "<table><tr><th><h3>head</h3></th></tr></table>",
    "<table><tbody><tr><td>x</td></tr></tbody><thead><tr><th>late</th></tr></thead></table>",
    "<table><tr><td colspan=2>wide</td></tr></table>",
    "<table><tr><td rowspan=5>tall</td></tr><tr></tr></table>",
    "<table><tr><td rowspan=2>a</td><td>b</td></tr><tr><td colspan=2>c</td></tr></table>",
    '<img src="x" width="abc" height="-1" alt="">',
    '<span lang="not a language!">x</span><a href="/x" hreflang="??">y</a>',
    "[spaces](<http://example.org/a b>)",
    '<a href="/a%zz#b#c">percent</a>',
    "<a href=a><a href=b>nested</a></a>",
    "<strong>a<p>b</strong>c</p>",
    "text\x01with\x7fcontrols\x9f",
    "</p></p></div></li>",
    "* a\n* <table><tr><td>x</td></tr></table>\n\n> <h2>quote</h2>",
    "    <h2>indented code</h2>",
    "| a | b |\n|---|---|\n| 1 | 2 |",
]


@pytest.mark.parametrize("text", PAYLOADS + EDGE_CASES)
def test_hostile_markdown_renders_to_html_that_validates(text: str) -> None:
    html = str(render_markdown(text))

    assert validation_errors(html) == []


@pytest.mark.parametrize("text", PAYLOADS + EDGE_CASES)
def test_rendered_html_survives_reparsing_unchanged(text: str) -> None:
    html = str(render_markdown(text))

    # Parsed (by html5ever, in nh3) and written out again, it is the same:
    # its tags are balanced and nothing in it is left for a parser to repair.
    assert sanitize_html(html) == html


def test_an_image_without_alt_gets_an_empty_one() -> None:
    assert str(render_markdown('<img src="photo.jpg">')) == '<p><img src="photo.jpg" alt=""></p>'


def test_an_image_with_no_address_left_becomes_its_words() -> None:
    html = str(render_markdown("![a cat](javascript:alert(1))"))

    assert "<img" not in html
    assert "a cat" in html


def test_a_link_whose_address_was_refused_is_plain_text_without_rel() -> None:
    html = str(render_markdown("Read [this](javascript:alert(1)) now"))

    assert "<a" not in html
    assert "rel=" not in html
    assert html == "<p>Read this now</p>"


def test_a_safe_link_keeps_its_rel() -> None:
    html = str(render_markdown("[Sitthi](https://example.org/a)"))

    assert html == (
        '<p><a href="https://example.org/a" rel="noopener noreferrer nofollow">Sitthi</a></p>'
    )


def test_a_closing_tag_with_no_paragraph_open_leaves_no_empty_paragraph() -> None:
    html = str(render_markdown("<p>one<blockquote>quoted</blockquote></p>"))

    assert html == "<p>one</p><blockquote>quoted</blockquote>"


def test_table_spans_that_add_up_are_kept() -> None:
    html = str(
        render_markdown("<table><tr><td rowspan=2>a</td><td>b</td></tr><tr><td>c</td></tr></table>")
    )

    assert 'rowspan="2"' in html


def test_table_spans_that_leave_an_empty_column_are_dropped() -> None:
    html = str(render_markdown("<table><tr><td colspan=2>wide</td></tr></table>"))

    assert "colspan" not in html
    assert "wide" in html


ORDINARY_MARKDOWN = [
    "# Title\n\n## ចំណងជើង\n\nA paragraph with *emphasis*, **strength** and `code`.",
    "- one\n- two\n\n1. first\n2. second",
    "> A quotation\n>\n> in two paragraphs",
    "| Country | Signatures |\n|---|---|\n| Cambodia | 1,200 |\n| France | 85 |",
    "![Rally in Phnom Penh](https://example.org/rally.jpg)\n\n---\n\n[Read more](/en/about/)",
    "```\nline one\n  line two\n```",
]


@pytest.mark.parametrize("text", ORDINARY_MARKDOWN)
def test_ordinary_markdown_comes_out_as_the_sanitiser_wrote_it(text: str) -> None:
    raw = nh3.clean(
        markdown.markdown(text, extensions=["extra", "sane_lists"], output_format="html"),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )

    assert str(render_markdown(text)) == raw
    assert validation_errors(raw) == []

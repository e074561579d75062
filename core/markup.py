"""Markdown written by staff, rendered to HTML that cannot run anything."""

import re
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser
from typing import Union
from urllib.parse import quote

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "s",
    "blockquote",
    "code",
    "pre",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "img",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "sup",
    "sub",
    "span",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "*": {"lang"},
}
# No javascript:, data: or other schemes a link could run or smuggle.
URL_SCHEMES = {"http", "https", "mailto", "tel"}


def sanitize_html(html: str) -> str:
    """HTML that cannot run anything, and that validates."""
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return normalise_html(clean)


# --- Valid HTML out ---------------------------------------------------------
# nh3 makes the markup harmless, not valid: an image without alt, a link
# whose href was refused (kept with its rel), a list item outside a list, a
# heading inside a paragraph. The tree nh3 returns is rebuilt here by the
# content model of the few tags we allow, so every page that shows staff
# Markdown still passes the validator.

PHRASING = {"strong", "em", "b", "i", "u", "s", "code", "sup", "sub", "span", "a", "img", "br"}
HEADINGS = {"h2", "h3", "h4", "h5", "h6"}
PHRASING_BLOCKS = {"p", "pre"} | HEADINGS  # blocks that hold phrasing content only
FLOW_BLOCKS = {"blockquote", "li", "td", "th"}  # blocks that hold flow content
TABLE_PARTS = {"thead", "tbody", "tr", "td", "th"}
VOID = {"br", "hr", "img"}

# Code points the HTML spec forbids in a document (controls, noncharacters).
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*\Z")
NON_NEGATIVE_INTEGER = re.compile(r"[0-9]{1,9}\Z")
# What a URL may carry as is: RFC 3986 reserved and unreserved characters,
# "%" when it starts an escape, and any non-ASCII letter (an IRI).
URL_ESCAPE = re.compile(
    r"%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%\u00a0-\U0010ffff]"
)
URL_ESCAPE_WITH_BRACKETS = re.compile(URL_ESCAPE.pattern + r"|[\[\]]")
URL_AUTHORITY = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*:)?(//[^/?#]*)?")

Node = Union["Element", str]


@dataclass
class Element:
    tag: str
    attributes: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)


class _TreeBuilder(HTMLParser):
    """nh3's output as a tree. It is well formed already (html5ever wrote
    it), so a stack is all the parsing it needs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("root")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _url(value: str) -> str:
    """The URL with what a validator refuses percent-escaped (a space, a
    quote, a lone "%"); brackets are left alone in an IPv6 host only."""
    value = value.strip()
    authority = URL_AUTHORITY.match(value)
    start = authority.end() if authority else 0
    fragment = value.find("#", start)

    def escape(text: str, brackets: bool = True) -> str:
        pattern = URL_ESCAPE_WITH_BRACKETS if brackets else URL_ESCAPE
        return pattern.sub(lambda match: quote(match.group(), safe=""), text)

    if fragment == -1:
        return escape(value[:start], brackets=False) + escape(value[start:])
    return (
        escape(value[:start], brackets=False)
        + escape(value[start:fragment])
        + "#"
        + escape(value[fragment + 1 :]).replace("#", "%23")
    )


def _valid(name: str, value: str) -> bool:
    """Whether the validator accepts this value for this attribute."""
    integer = NON_NEGATIVE_INTEGER.match(value) is not None
    checks = {
        "lang": lambda: not value or LANGUAGE_TAG.match(value) is not None,
        "hreflang": lambda: LANGUAGE_TAG.match(value) is not None,
        "width": lambda: integer,
        "height": lambda: integer,
        "colspan": lambda: integer and 1 <= int(value) <= 1000,
        "rowspan": lambda: integer and int(value) <= 65534,
        "src": lambda: value != "",
    }
    return checks.get(name, lambda: True)()


def _attributes(element: Element) -> dict[str, str]:
    """The element's attributes, with any value a validator would refuse dropped."""
    kept = {}
    for name, raw in element.attributes.items():
        value = FORBIDDEN_CHARACTERS.sub("", raw)
        if name in {"href", "src"}:
            value = _url(value)
        if _valid(name, value):
            kept[name] = value
    return kept


def _text(node: Node) -> str:
    if isinstance(node, str):
        return node
    if node.tag == "img":
        return node.attributes.get("alt", "")
    return "".join(_text(child) for child in node.children)


def _phrasing(nodes: list[Node], *, in_link: bool = False) -> list[Node]:
    """Phrasing content: blocks met here are flattened to their text-level content."""
    kept: list[Node] = []
    for node in nodes:
        if isinstance(node, str):
            kept.append(node)
        elif node.tag == "img":
            attributes = _attributes(node)
            if not attributes.get("src"):
                kept.append(attributes.get("alt", ""))  # an image that cannot load: its words
            else:
                kept.append(Element("img", {**attributes, "alt": attributes.get("alt", "")}))
        elif node.tag == "br":
            kept.append(Element("br", _attributes(node)))
        elif node.tag == "a":
            attributes = _attributes(node)
            if in_link or "href" not in attributes:
                # A link whose address was refused is just its words (and
                # needs no rel); a link inside a link cannot be.
                kept.extend(_phrasing(node.children, in_link=in_link))
            else:
                kept.append(Element("a", attributes, _phrasing(node.children, in_link=True)))
        elif node.tag in PHRASING:
            kept.append(
                Element(node.tag, _attributes(node), _phrasing(node.children, in_link=in_link))
            )
        else:  # a block where only text may be: keep its words, apart from their neighbours
            kept.extend([" ", *_phrasing(node.children, in_link=in_link), " "])
    return kept


def _flow(nodes: list[Node], *, in_header_cell: bool = False) -> list[Node]:
    kept: list[Node] = []
    list_items: list[Node] = []  # <li> met outside a list: gathered into one

    def close_list() -> None:
        if list_items:
            kept.append(Element("ul", {}, list(list_items)))
            list_items.clear()

    for node in nodes:
        if isinstance(node, Element) and node.tag == "li":
            list_items.append(Element("li", _attributes(node), _flow(node.children)))
            continue
        close_list()
        if isinstance(node, str) or node.tag in PHRASING:
            kept.extend(_phrasing([node]))
        elif node.tag in HEADINGS and in_header_cell:  # no heading in a <th>
            kept.append(Element("p", _attributes(node), _phrasing(node.children)))
        elif node.tag in PHRASING_BLOCKS:
            children = _phrasing(node.children)
            if node.tag == "pre" or "".join(map(_text, children)).strip() or _has_image(children):
                kept.append(Element(node.tag, _attributes(node), children))
        elif node.tag == "hr":
            kept.append(Element("hr", _attributes(node)))
        elif node.tag == "blockquote":
            kept.append(Element("blockquote", _attributes(node), _flow(node.children)))
        elif node.tag in {"ul", "ol"}:
            items: list[Node] = []
            for child in node.children:
                if isinstance(child, str) and not child.strip():
                    items.append(child)  # the line breaks Markdown writes between items
                elif isinstance(child, Element) and child.tag == "li":
                    items.append(Element("li", _attributes(child), _flow(child.children)))
                else:  # a paragraph or words straight in a list: an item of their own
                    items.append(Element("li", {}, _flow([child])))
            kept.append(Element(node.tag, _attributes(node), items))
        elif node.tag == "table":
            kept.extend(_table(node))
        else:  # a table part outside a table, or a tag nh3 let through unknown to us
            kept.extend(_flow(node.children, in_header_cell=in_header_cell))
    close_list()
    return kept


def _has_image(nodes: list[Node]) -> bool:
    return any(
        isinstance(node, Element) and (node.tag == "img" or _has_image(node.children))
        for node in nodes
    )


def _table(table: Element) -> list[Node]:
    """The table, with anything that is not a row or a cell moved before it
    (as a browser does) and spans dropped when they do not add up."""
    moved_out: list[Node] = []
    children: list[Node] = []  # row groups, and the blank text between them
    loose_rows: Element | None = None  # rows straight in <table>: one implied <tbody>

    def blank(node: Node) -> bool:
        return isinstance(node, str) and not node.strip()

    def move_out(node: Node) -> None:
        if _text(node).strip() or _has_image([node]):
            moved_out.extend(_flow([node]))

    def row(tr: Element) -> Element | None:
        cells: list[Node] = []
        for child in tr.children:
            if isinstance(child, Element) and child.tag in {"td", "th"}:
                in_header_cell = child.tag == "th"
                cells.append(
                    Element(
                        child.tag,
                        _attributes(child),
                        _flow(child.children, in_header_cell=in_header_cell),
                    )
                )
            elif blank(child):
                cells.append(child)
            else:
                move_out(child)
        has_cells = any(isinstance(cell, Element) for cell in cells)
        return Element("tr", _attributes(tr), cells) if has_cells else None

    def group(tag: str, source: Element) -> Element:
        kept: list[Node] = []
        for child in source.children:
            if isinstance(child, Element) and child.tag == "tr":
                if (tr := row(child)) is not None:
                    kept.append(tr)
            elif blank(child):
                kept.append(child)
            else:
                move_out(child)
        return Element(tag, {}, kept)

    for child in table.children:
        if isinstance(child, Element) and child.tag == "tr":
            if loose_rows is None:
                loose_rows = Element("tbody")
                children.append(loose_rows)
            if (tr := row(child)) is not None:
                loose_rows.children.append(tr)
            continue
        if blank(child):
            (loose_rows.children if loose_rows else children).append(child)
            continue
        loose_rows = None
        if isinstance(child, Element) and child.tag in {"thead", "tbody"}:
            # Only a first group may be a <thead>: one after the body is a body.
            first = not any(isinstance(node, Element) for node in children)
            children.append(group("thead" if child.tag == "thead" and first else "tbody", child))
        else:
            move_out(child)

    groups = [
        [tr for tr in node.children if isinstance(tr, Element)]
        for node in children
        if isinstance(node, Element)
    ]
    children = [
        node
        for node in children
        if isinstance(node, str) or any(isinstance(tr, Element) for tr in node.children)
    ]
    if not any(groups):
        return moved_out
    if not _spans_add_up([rows for rows in groups if rows]):
        for rows in groups:
            for tr in rows:
                for cell in tr.children:
                    if isinstance(cell, Element):
                        cell.attributes.pop("colspan", None)
                        cell.attributes.pop("rowspan", None)
    return [*moved_out, Element("table", _attributes(table), children)]


def _spans_add_up(groups: list[list[Element]]) -> bool:
    """True when the HTML table model finds no error in these row groups:
    no cell overlaps another, no span runs past its row group, and a cell
    begins in every column."""
    width = 0
    columns_begun: set[int] = set()
    for group in groups:
        taken: set[tuple[int, int]] = set()
        for row_number, tr in enumerate(group):
            column = 0
            for cell in tr.children:
                if isinstance(cell, str):
                    continue
                while (row_number, column) in taken:
                    column += 1
                colspan = int(cell.attributes.get("colspan", "1"))
                rowspan = int(cell.attributes.get("rowspan", "1")) or len(group) - row_number
                if row_number + rowspan > len(group):
                    return False
                slots = {
                    (row_number + down, column + across)
                    for down in range(rowspan)
                    for across in range(colspan)
                }
                if slots & taken:
                    return False
                taken |= slots
                columns_begun.add(column)
                column += colspan
            width = max([width, *(slot_column + 1 for _row, slot_column in taken)])
    return columns_begun >= set(range(width))


def _serialise(nodes: list[Node]) -> str:
    out = []
    for node in nodes:
        if isinstance(node, str):
            out.append(escape(FORBIDDEN_CHARACTERS.sub("", node), quote=False))
            continue
        attributes = "".join(
            f' {name}="{escape(value)}"' for name, value in node.attributes.items()
        )
        out.append(f"<{node.tag}{attributes}>")
        if node.tag not in VOID:
            out.append(f"{_serialise(node.children)}</{node.tag}>")
    return "".join(out)


def normalise_html(html: str) -> str:
    """Sanitised HTML rebuilt so that it validates (see above)."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return _serialise(_flow(builder.root.children))


def render_markdown(text: str) -> SafeString:
    html = markdown.markdown(text or "", extensions=["extra", "sane_lists"], output_format="html")
    return mark_safe(sanitize_html(html))  # nosec B308 B703 # noqa: S308 - nh3 has just sanitised it

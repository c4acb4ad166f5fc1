"""Making the HTML the grader writes safe to open: no script from a student runs in the student's or the
instructor's browser.

Where student content becomes HTML (nbgrader 0.9.6 with nbconvert 7):

* ``nbgrader generate_feedback`` (``GenerateFeedback``): nbconvert's ``HTMLExporter`` with nbgrader's ``feedback``
  template; the Formgrader renders each submission with an ``HTMLExporter`` made from the course configuration
  and nbgrader's ``formgrade`` template. Both templates override the ``markdowncell`` block with
  ``cell.source | markdown2html`` and never call ``clean_html``, so ``HTMLExporter.sanitize_html`` alone leaves
  student markdown live: nbconvert's ``markdown2html`` passes raw HTML (``<script>``, ``<img onerror>``,
  ``<iframe>``) and ``javascript:`` links through.
* Outputs come from nbconvert's ``classic`` blocks: with ``sanitize_html`` on, ``text/html`` and SVG go through
  ``clean_html``, and ``application/javascript``, widget views and the widget state are not written at all.
* Code, streams, tracebacks and ``text/plain`` are escaped (pygments, ``ansi2html``); image data is escaped into
  a ``data:`` URI; equations become MathML (no MathJax, which nbgrader's templates load from a CDN).

:func:`html_safety_config` therefore turns ``sanitize_html`` on and replaces two Jinja filters of every
``HTMLExporter`` made from the configuration: ``markdown2html`` (:func:`safe_markdown2html`: nbconvert's own
rendering, then cleaned) and ``clean_html`` (:func:`clean_student_html`: an allowlist that keeps what Markdown
produces, headings, tables, images and highlighted code, where nbconvert's escapes them as text). Disallowed tags
are escaped, so the instructor sees what was attempted.
"""
from __future__ import annotations

import re
from xml.etree import ElementTree

import bleach
import latex2mathml.converter
from jinja2 import pass_context
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from traitlets.config import Config

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp",
    "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u",
    "ul", "var",
})
# Presentation MathML, which equations become (latex_to_mathml, below): readable in every
# current browser without MathJax or a network. No <maction>, <semantics> or <annotation-xml> (which can hold HTML).
MATHML_TAGS = frozenset({
    "math", "mi", "mn", "mo", "ms", "mspace", "mtext", "mrow", "mfrac", "msqrt", "mroot", "msub", "msup",
    "msubsup", "munder", "mover", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose",
    "merror", "mmultiscripts", "mprescripts", "none",
})
MATHML_ATTRIBUTES = frozenset({
    "display", "mathvariant", "stretchy", "fence", "separator", "accent", "accentunder", "lspace", "rspace",
    "columnalign", "rowalign", "form", "largeop", "movablelimits", "symmetric", "minsize", "maxsize",
    "linethickness", "width", "height", "depth", "notation", "displaystyle", "scriptlevel", "columnspacing",
    "rowspacing", "columnlines", "rowlines", "frame",
})
MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto", "data"})  # data: only for images, see _allowed_attribute
# Classes that Markdown rendering and pygments produce; others (bootstrap's panels, alerts...) could make a
# student's text look like the grader's own.
SAFE_CLASS = re.compile(r"(highlight|hll|anchor-link|hl-[\w-]+|language-[\w+-]+|[a-z]{1,3}\d?)")
IMAGE_DATA_URI = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*", re.IGNORECASE)
ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "details": {"open"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
}


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if tag in MATHML_TAGS:
        if name == "xmlns":
            return tag == "math" and value == MATHML_NAMESPACE
        return name in MATHML_ATTRIBUTES and not re.search(r"[:(<]", value)
    if name == "class":
        return all(SAFE_CLASS.fullmatch(token) for token in value.split())
    if name not in ATTRIBUTES.get(tag, ()):
        return False
    if name in ("href", "src") and value.strip().lower().startswith("data:"):
        return tag == "img" and IMAGE_DATA_URI.fullmatch(value.strip()) is not None
    return True


_CLEANER = bleach.Cleaner(tags=ALLOWED_TAGS | MATHML_TAGS, attributes=_allowed_attribute, protocols=ALLOWED_PROTOCOLS,
                          strip=False, strip_comments=True)


def clean_student_html(html: str | bytes) -> str:
    """``html`` with only inert markup left: no script, event handler, frame, form, style or ``javascript:`` URL.

    Parameters
    ----------
    html : str or bytes
        HTML from a notebook (rendered Markdown, a ``text/html`` output, highlighted code).

    Returns
    -------
    str
        The same HTML where the allowed tags (:data:`ALLOWED_TAGS`) keep their allowed attributes and every other
        tag is escaped into visible text.
    """
    return _CLEANER.clean(html.decode("utf-8", "replace") if isinstance(html, bytes) else str(html))


# Environments that latex2mathml 3.81 writes as one run of symbols (it ignores their ``&`` and ``\\``, so a system of
# equations runs off the page): rewritten as ones it lays out in rows. ``align`` is left unnumbered, as Jupyter's
# MathJax shows it.
_LAYOUTS = {
    "align": ("align*", "align*"), "aligned": ("align*", "align*"), "alignat": ("align*", "align*"),
    "alignedat": ("align*", "align*"), "flalign": ("align*", "align*"), "gather": ("array}{c", "array"),
    "gathered": ("array}{c", "array"), "multline": ("array}{c", "array"), "eqnarray": ("array}{rcl", "array"),
    "equation": ("", ""),
}
_ENVIRONMENT = re.compile(r"\\(begin|end)\{(" + "|".join(sorted(_LAYOUTS, key=len, reverse=True)) + r")\*?\}")
_COLUMN_COUNT = re.compile(r"(\\begin\{(?:alignat\*?|alignedat)\})\{\d+\}")   # alignat's {n}: align* needs none
_CHARACTER_REFERENCE = re.compile(r"&amp;(#x[0-9A-Fa-f]+|#[0-9]+);")


def _laid_out(tex: str) -> str:
    """``tex`` with the environments of :data:`_LAYOUTS` replaced by their equivalents that latex2mathml lays out."""
    def replace(match: re.Match) -> str:
        begin, end = _LAYOUTS[match.group(2)]
        target = begin if match.group(1) == "begin" else end
        return f"\\{match.group(1)}{{{target}}}" if target else ""

    return _ENVIRONMENT.sub(replace, _COLUMN_COUNT.sub(r"\1", tex))


def latex_to_mathml(tex: str, display: bool) -> str | None:
    """``tex`` as presentation MathML (``None`` where it cannot be converted).

    The markup is escaped here: latex2mathml's own ``convert`` unescapes all it writes, so that the text of a
    ``\\text{<b>...</b>}`` would come out as markup. Only the numeric character references it writes for symbols
    are given back. (The result still goes through the cleaner, like all the rendered Markdown.)
    """
    try:
        element = latex2mathml.converter.convert_to_element(_laid_out(tex.strip()),
                                                            display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - any TeX latex2mathml cannot read stays visible as its source text
        return None
    return _CHARACTER_REFERENCE.sub(r"&\1;", ElementTree.tostring(element, encoding="unicode"))


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer with equations written as MathML instead of TeX left for MathJax, so that a
    page reads right offline (no MathJax from a CDN); TeX that cannot be converted stays as escaped source."""

    def _math(self, tex: str, display: bool, source: str) -> str:
        return latex_to_mathml(tex, display) or self.escape_html(source)

    def block_math(self, body: str) -> str:
        return self._math(body, True, f"$${body}$$")

    def inline_math(self, body: str) -> str:
        return self._math(body, False, f"${body}$")

    def multiline_math(self, text: str) -> str:
        tex = re.sub(r"^\s*(\$\$|\\\[)|(\$\$|\\\])\s*$", "", text)
        return self._math(tex, True, text)

    def latex_environment(self, name: str, body: str) -> str:
        source = f"\\begin{{{name}}}{body}\\end{{{name}}}"
        return self._math(source, True, source)


@pass_context
def safe_markdown2html(context, source: str) -> str:
    """The ``markdown2html`` Jinja filter of nbconvert's ``HTMLExporter`` (defaults: no anchor-link text change,
    images not embedded), with the result cleaned by :func:`clean_student_html`. Math (``$x$``, ``$$...$$``)
    becomes MathML (:class:`MathMLRenderer`)."""
    cell = context.get("cell", {}) or {}
    path = context.get("resources", {}).get("metadata", {}).get("path", "")
    renderer = MathMLRenderer(escape=False, allow_harmful_protocols=False, attachments=cell.get("attachments", {}),
                               embed_images=False, path=path, anchor_link_text="¶", exclude_anchor_links=False)
    return clean_student_html(MarkdownWithMath(renderer=renderer).render(str(source)))


def html_safety_config() -> Config:
    """The configuration that makes every ``HTMLExporter`` of the course (feedback, Formgrader) write inert HTML.

    Returns
    -------
    traitlets.config.Config
        ``HTMLExporter.sanitize_html = True`` and ``HTMLExporter.filters`` replacing ``markdown2html`` and
        ``clean_html``; merge it into the course configuration (``c.merge(html_safety_config())`` in
        ``nbgrader_config.py``).
    """
    config = Config()
    config.HTMLExporter.sanitize_html = True
    config.HTMLExporter.filters = {
        "markdown2html": f"{__name__}.safe_markdown2html",
        "clean_html": f"{__name__}.clean_student_html",
    }
    return config

"""Markdown to safe HTML: CommonMark + tables, highlighted code, then sanitized.

Rendering happens when content is imported, not per request. The sanitizer
(nh3, the Rust ammonia library) is the last step, so nothing an author writes
can inject script, styles or event handlers; code highlighting uses CSS
classes (styles live in static/upskill/code.css, allowed by our CSP).
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

_FORMATTER = HtmlFormatter(nowrap=True, classprefix="tok-")

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "span",
    "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "code": {"class"},
    "div": {"class"},
    "pre": {"class"},
    "span": {"class"},
    "td": {"align"},
    "th": {"align", "scope"},
    "ol": {"start"},
}


def _highlight(code: str, language: str, attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(language.strip().split()[0]) if language.strip() else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return ""  # markdown-it escapes and wraps it itself
    body = highlight(code, lexer, _FORMATTER)
    return f'<pre class="highlight"><code class="language-{lexer.name.lower()}">{body}</code></pre>'


_md = MarkdownIt("commonmark", {"highlight": _highlight, "html": False}).enable("table")


def render_markdown(text: str) -> str:
    """Markdown source to sanitized HTML. Raw HTML in the source is escaped."""
    return _clean(_md.render(text))


def render_inline(text: str) -> str:
    """One line of Markdown (an answer option, a label) to sanitized inline HTML, no <p>."""
    return _clean(_md.renderInline(text))


def render_code(code: str, language: str) -> str:
    """A code snippet as a highlighted, sanitized <pre> block (plain if the language is unknown)."""
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", code)), default=0) + 1)
    return render_markdown(f"{fence}{language}\n{code.rstrip()}\n{fence}\n")


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


_BLOCK_END = re.compile(r"(?<![.!?:])</h[1-6]>")


def plain_text(text: str) -> str:
    """The words of a Markdown document without markup (for search and previews).
    Headings end with a full stop so a snippet does not run a title into its text."""
    html = _BLOCK_END.sub(".", _md.render(text))
    return " ".join(nh3.clean(html, tags=set()).split())

"""Nothing a learner writes on a board can run in another person's browser.

Each attack is posted through the real page (as a question and as a reply); the stored HTML
and the thread page as a reader gets it are both parsed, and must hold no script, no
event-handler attribute, no frame, style or SVG, and no link or source with a javascript:,
vbscript: or data: address. Legitimate Markdown still renders, so the test would notice a
sanitizer that simply threw everything away.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client

from tests.community.conftest import COURSE, LESSON, settle
from upskill.accounts.models import User
from upskill.community.models import Post

pytestmark = pytest.mark.django_db

ATTACKS = {
    "script tag": "<script>alert('x')</script>",
    "script tag, odd case": "<ScRiPt src=https://evil.example/x.js></ScRiPt>",
    "javascript link": "[click me](javascript:alert(1))",
    "javascript link, odd case": "[click me](JaVaScRiPt:alert(1))",
    "javascript link, hex entity": "[click me](jav&#x61;script:alert(1))",
    "javascript link, decimal entity": "[click me](&#106;avascript:alert(1))",
    "javascript link, tab inside": "[click me](java\tscript:alert(1))",
    "javascript autolink": "<javascript:alert(1)>",
    "javascript reference link": "[click me][r]\n\n[r]: javascript:alert(1)",
    "data link": "[click me](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "data svg link": "[click me](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "vbscript link": "[click me](vbscript:msgbox(1))",
    "javascript image": "![pic](javascript:alert(1))",
    "img onerror": '<img src="x" onerror="alert(1)">',
    "svg onload": '<svg onload="alert(1)"><circle r="4"/></svg>',
    "svg with script": "<svg><script>alert(1)</script></svg>",
    "a onclick": '<a href="https://ok.example" onclick="alert(1)">x</a>',
    "img onclick": '<img src="https://ok.example/a.png" onclick="alert(1)">',
    "iframe": '<iframe src="https://evil.example/"></iframe>',
    "style": "<style>body { display: none }</style>",
    "title breaking out": '[x](https://ok.example "t\\" onmouseover=\\"alert(1))',
    "html block": "<div onmouseover=\"alert(1)\">\n\n**hover**\n\n</div>",
    "object": '<object data="https://evil.example/x.swf"></object>',
    "javascript link, named entity colon": "[click me](javascript&colon;alert(1))",
    "javascript link, all entities": "[click me](&#x6A;avascript&#x3A;alert(1))",
    "javascript link, control character": "[click me](\x01javascript:alert(1))",
    "attribute break in a url": '[x](https://ok.example/"onmouseover="alert(1))',
    "attribute break in an autolink": '<https://ok.example/"onmouseover="alert(1)>',
    "script in a code block": "```html\n<script>alert(1)</script>\n```",
}

DANGEROUS_TAGS = {"script", "iframe", "frame", "style", "svg", "math", "object", "embed",
                  "img", "link", "meta", "base", "form", "input", "textarea", "button"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcset"}
BAD_SCHEME = re.compile(r"^(javascript|vbscript|data):")


def _scheme(url: str) -> str:
    # Browsers ignore control characters and spaces inside a scheme ("java\tscript:").
    return re.sub(r"[\x00-\x20]", "", url).lower()


class Inspector(HTMLParser):
    """Collects every start tag with its attributes (entities already decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def dangers(html: str, *, page: bool = False) -> list[str]:
    """What in ``html`` could run script. In a page's main region the site's own form
    controls are expected; the post content has none."""
    inspector = Inspector()
    inspector.feed(html)
    found = []
    for tag, attrs in inspector.tags:
        if page and tag in {"form", "input", "textarea", "button"}:
            continue
        if tag in DANGEROUS_TAGS:
            found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                found.append(f"<{tag} {name}>")
            if name in URL_ATTRIBUTES and BAD_SCHEME.match(_scheme(value or "")):
                found.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                found.append(f"<{tag} style>")
    return found


def post_as_page(client: Client, body: str) -> tuple[int, str]:
    """Ask a question with ``body`` through the form, and reply with it too."""
    ask_url = f"/community/boards/{COURSE}/lessons/{LESSON}/ask/"
    response = client.post(ask_url, {"kind": "question", "title": "A question with markup",
                                     "body": body, "step": "post"})
    assert response.status_code == 302, response.content.decode()[:2000]
    thread_url = response["Location"]
    thread_id = int(thread_url.rstrip("/").rsplit("/", 1)[1])
    reply = client.post(f"/community/threads/{thread_id}/reply/", {"body": body + "\n\nReply."})
    assert reply.status_code == 302, reply.content.decode()[:2000]
    return thread_id, thread_url


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_attack_is_stored_and_shown_inert(
        course: Path, learner: User, other_learner: User, client_for: object,
        attack: str) -> None:
    body = f"Before the attack.\n\n{ATTACKS[attack]}\n\nAfter the **attack**."
    settle(learner)
    thread_id, thread_url = post_as_page(client_for(learner), body)  # type: ignore[operator]
    posts = list(Post.objects.filter(thread_id=thread_id))
    assert len(posts) == 2
    for post in posts:
        assert dangers(post.body_html) == [], (attack, post.body_html)
        assert "<strong>attack</strong>" in post.body_html  # the rest still renders
    page = client_for(other_learner).get(thread_url)  # type: ignore[operator]
    assert page.status_code == 200
    html = page.content.decode()
    main = html[html.index("<main"):html.index("</main>")]
    assert dangers(main, page=True) == [], attack
    assert html.count("After the <strong>attack</strong>.") == 2


def test_an_edit_is_sanitized_too(course: Path, learner: User, client_for: object) -> None:
    settle(learner)
    client = client_for(learner)  # type: ignore[operator]
    thread_id, _url = post_as_page(client, "Harmless at first.")
    post = Post.objects.get(thread_id=thread_id, is_opening=True)
    response = client.post(f"/community/posts/{post.pk}/edit/", {
        "title": "A question with markup", "body": '<img src=x onerror="alert(1)"> now'})
    assert response.status_code == 302
    post.refresh_from_db()
    assert dangers(post.body_html) == [] and "onerror" in post.body_markdown


def test_the_checker_itself_catches_what_it_is_meant_to_catch() -> None:
    """The inspection above would notice each kind of danger if the sanitizer let it by."""
    assert dangers('<p><a href="java\tscript:alert(1)">x</a></p>') == [
        "<a href='java\\tscript:alert(1)'>"]
    assert dangers('<a href="jav&#x61;script:x">x</a>') == ["<a href='javascript:x'>"]
    assert dangers('<img src="x" onerror="y">') == ["<img>", "<img onerror>"]
    assert dangers("<svg><script>1</script></svg>") == ["<svg>", "<script>"]
    assert dangers('<a href="DATA:text/html,x">x</a>') == ["<a href='DATA:text/html,x'>"]
    assert dangers('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>') == []
    assert dangers('<a href="https://ok.example" rel="nofollow">ok</a>') == []

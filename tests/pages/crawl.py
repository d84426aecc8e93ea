"""Crawl Govern as one signed-in person: every same-site link a page shows, GET only, bounded by the page's shape.

A page that reads personal data asks for a reason first: the crawl gives one and reads the page behind it.
Pages differ by their ids (`/deployments/3/`, `/deployments/4/`) and their filters (`?state=…`); two of each shape
are enough to find a link to a page the person may not open, and bound a crawl of the seeded demo to minutes.
"""

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urldefrag, urljoin, urlsplit

PER_SHAPE = 2
LIMIT = 400  # pages per person: far above the demo's, so a crawl that grows without end fails instead of hanging
# Not pages: files a page links to for download or for tools, fetched by the crawl all the same unless listed here.
NOT_PAGES = ("/static/", "/api/schema/")
REASON = "Checking every page a role is shown"  # the reason a page that reads personal data asks for, given


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def links(html: str, base: str) -> list[str]:
    """The same-site links (path and query) an HTML page shows."""
    parser = _Links()
    parser.feed(html)
    found = []
    for href in parser.hrefs:
        url, _fragment = urldefrag(urljoin(f"http://testserver{base}", href))
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc != "testserver" or not parts.path:
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def shape(url: str) -> str:
    """A page's shape: its path with numbers and references blanked, and the names of its query's parameters."""
    parts = urlsplit(url)
    path = re.sub(r"/[A-Za-z]*-?\d[\w-]*", "/#", parts.path)
    return path + "?" + ",".join(sorted({name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}))


def crawl(client, start: str = "/", check=None) -> dict[str, tuple[int, str, bool]]:
    """Every page reachable from `start` by following links, each GET once (PER_SHAPE of each shape): url -> (status,
    the page that linked to it, whether it is an HTML page). A redirect's target is crawled as a link; `check(url,
    html)` is called on each HTML page."""
    seen, shapes, statuses, linked_from = {start}, {}, {}, {start: ""}
    queue = deque([start])
    while queue and len(statuses) < LIMIT:
        url = queue.popleft()
        response = client.get(url)
        html = response.get("Content-Type", "").startswith("text/html") and not response.streaming
        if response.status_code == 200 and html and b'action="/audit/consult/"' in response.content:
            # A page of personal data asks why first: give the reason, as a person does, and read the page itself.
            client.post("/audit/consult/", {"next": url, "reason": REASON})
            response = client.get(url)
            html = response.get("Content-Type", "").startswith("text/html") and not response.streaming
        statuses[url] = (response.status_code, linked_from[url], html)
        if response.status_code in (301, 302, 303, 307, 308):
            found = [response["Location"]]
        elif response.status_code == 200 and html:
            found = links(response.content.decode(), url)
            if check is not None:
                check(url, response.content.decode())
        else:
            continue
        for link in found:
            if link in seen or link.startswith(NOT_PAGES):
                continue
            seen.add(link)
            linked_from[link] = url
            kind = shape(link)
            if shapes.get(kind, 0) >= PER_SHAPE:
                continue
            shapes[kind] = shapes.get(kind, 0) + 1
            queue.append(link)
    assert len(statuses) < LIMIT, f"the crawl reached {LIMIT} pages: bound it better"
    return statuses

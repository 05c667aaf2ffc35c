"""Fetch the upstream corpora from their public archives, hash-verified.

An upstream corpus (``source: upstream`` in ``params.yaml``'s ``corpora``) is a public GitHub
repository at a pinned commit, named by its committed manifest
``vistance/data/corpus_manifests/<name>.json`` (``repository``, ``commit``, ``layout``, and per
article its id and sha256): adding one is a manifest plus a params entry (and a layout here if its
files are new). :func:`fetch_corpus` gets the repository's source archive
(``https://github.com/OWNER/REPO/archive/COMMIT.tar.gz``: downloaded, or a local copy),
converts the upstream files into the project's ``articles.jsonl`` and checks every article
against the committed manifest ``vistance/data/corpus_manifests/<name>.json`` (ids and the
sha256 of each article's JSON line, never text). The result is written atomically: a failed or
interrupted fetch leaves no ``articles.jsonl`` behind, and a tampered archive member is refused
naming the article.

Conversions, by the manifest's ``layout`` (reproduce ``../shared/corpus/*/articles.jsonl`` byte for byte):

- ``jekyll`` — Jekyll posts ``_posts/<post>.md``: front matter (``date:`` in RFC 2822), then per
  article a link line ``[title](url)``, an image line ``![…](…)`` and one paragraph per non-blank
  line; the k-th link line of a post starts article ``<post>.md#<k>``. Lines starting with ``>``
  (links to related articles) are not paragraphs. ``source`` is the URL's host without ``www.``;
  ``date`` the post's date (its own time zone). The reference copy also leaves out, in 183 of the
  439 articles of the one such corpus, the Google-Trends snippet that opens the post (a paragraph ending in ``\\xa0...``);
  no rule derivable from the post text separates those from the 107 snippets it kept, so the
  manifest records, per article, the indices of the paragraphs it omits (``omit``).
- ``tokenized_seg`` — ``data/{train,val,test}_tokenized/<n>.txt.seg``: blank-line separated blocks
  title, summary, body (one sentence a line); later blocks (photo captions) are not used. Text is
  de-segmented: ``_`` -> space, no space before ``, . : ; ! ? % ) ] } ”``, none after ``( [ { “``.
  Id ``<split>/<n>.txt.seg``.
"""
from __future__ import annotations

import email.utils
import functools
import hashlib
import json
import os
import re
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable, Iterator

from vistance.errors import VistanceError

CHUNK = 1 << 16
#: the largest archive member read (bytes). The biggest listed member of either corpus is under
#: 40 KB; a member past this is refused before a byte of it is inflated (an archive bomb).
MAX_MEMBER_BYTES = 4 * 1024 * 1024
#: the longest line of a listed member, or of an ``articles.jsonl`` being verified (bytes; the
#: longest real one is under 40 KB)
MAX_LINE_BYTES = 1024 * 1024


class FetchError(VistanceError):
    """A corpus that cannot be fetched, converted or verified (the message says what to do)."""


@dataclass(frozen=True)
class Upstream:
    """Where a corpus comes from: a GitHub repository at a pinned commit."""

    name: str
    repo: str  # OWNER/REPO
    commit: str
    layout: str  # a key of LAYOUTS: "jekyll" or "tokenized_seg"

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repo}/archive/{self.commit}.tar.gz"

    @property
    def archive_name(self) -> str:
        """The file name GitHub gives the archive: ``REPO-COMMIT.tar.gz``."""
        return f"{self.repo.split('/')[1]}-{self.commit}.tar.gz"

    @property
    def prefix(self) -> str:
        """The folder every archive member sits under."""
        return f"{self.repo.split('/')[1]}-{self.commit}/"


#: the archive layouts :func:`convert_member` knows (a manifest's ``layout``)
LAYOUTS = ("jekyll", "tokenized_seg")
MANIFESTS = ("data", "corpus_manifests")   # vistance/data/corpus_manifests/<name>.json


def manifest_names() -> list[str]:
    """The corpora with a committed manifest (the upstream corpora ``fetch`` can build)."""
    folder = resources.files("vistance").joinpath(*MANIFESTS)
    return sorted(f.name.removesuffix(".json") for f in folder.iterdir() if f.name.endswith(".json"))


@functools.lru_cache(maxsize=None)
def _upstream(name: str) -> Upstream:
    m = load_manifest(name)
    repo = m["repository"].removeprefix("https://github.com/")
    if m.get("layout") not in LAYOUTS:
        raise FetchError(f"manifest of {name}: layout {m.get('layout')!r} is not one of {', '.join(LAYOUTS)}")
    return Upstream(name, repo, m["commit"], m["layout"])


def __getattr__(attr):
    if attr == "UPSTREAMS":   # {name: Upstream} of every committed manifest
        return {n: _upstream(n) for n in manifest_names()}
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


DEFAULT_ROOT = Path("data/corpora")
#: where an archive is looked for when none is given (first hit wins)
DEFAULT_ARCHIVE_DIRS = (DEFAULT_ROOT / "downloads", Path("../shared/upstream"))


@dataclass
class FetchReport:
    """What a fetch did: where the articles came from, how many, and where they went."""

    name: str
    out: str
    source: str = ""  # "archive PATH", "download URL", "verified copy PATH", "already up to date", "missing"
    articles: int = 0
    bytes: int = 0
    sha256: str = ""
    fetched: bool = False
    message: str = ""
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.fetched:
            return self.message
        return f"{self.name}: {self.articles} articles verified -> {self.out} ({self.source})"


# ---------------------------------------------------------------- manifests

def upstream(name: str) -> Upstream:
    """Where upstream corpus ``name`` comes from (its committed manifest)."""
    return _upstream(name)


@functools.lru_cache(maxsize=8)
def _manifest_text(name: str) -> str:
    known = manifest_names()
    if name not in known:
        raise FetchError(f"unknown upstream corpus {name!r}: no manifest vistance/data/corpus_manifests/{name}.json "
                         f"(have: {', '.join(known)}); a local corpus needs no fetch")
    return resources.files("vistance").joinpath(*MANIFESTS, f"{name}.json").read_text("utf-8")


def load_manifest(name: str) -> dict:
    """The committed manifest of corpus ``name`` (ids, per-article sha256, omissions)."""
    return json.loads(_manifest_text(name))


def canonical_line(record: dict) -> str:
    """The one JSON line of an article, as in ``articles.jsonl`` (UTF-8 kept, ``\\n`` at the end)."""
    from vistance.io import dumps_line

    return dumps_line(record)


def line_sha256(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- conversions

_LINK = re.compile(r"^\[(?P<title>.*)\]\((?P<url>https?://\S+)\)$")
_IMAGE = re.compile(r"^!\[.*\]\(.*\)$")
_NO_SPACE_BEFORE = re.compile(r" ([,.:;!?%)\]}”])")
_NO_SPACE_AFTER = re.compile(r"([(\[{“]) ")


def jekyll_articles(post: str, text: str) -> list[dict]:
    """The articles of one Jekyll post (every paragraph kept; see :func:`apply_omissions`)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---" or "---" not in (s.strip() for s in lines[1:]):
        raise FetchError(f"_posts/{post}: no Jekyll front matter")
    end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    front = {}
    for line in lines[1:end]:
        key, _, value = line.partition(":")
        front[key.strip()] = value.strip()
    try:
        date = email.utils.parsedate_to_datetime(front["date"]).date().isoformat()
    except (KeyError, TypeError, ValueError):
        raise FetchError(f"_posts/{post}: front matter has no readable 'date:'") from None
    articles: list[dict] = []
    current = None
    for line in lines[end + 1:]:
        s = line.strip()
        m = _LINK.match(s)
        if m:
            host = urllib.parse.urlsplit(m["url"]).hostname or ""
            current = {"id": f"{post}#{len(articles)}", "title": m["title"], "url": m["url"],
                       "source": host.removeprefix("www."), "date": date, "paragraphs": []}
            articles.append(current)
        elif current is not None and s and not s.startswith(">"):
            if _IMAGE.match(s) and not current["paragraphs"]:
                continue
            current["paragraphs"].append(s)
    return articles


def desegment(text: str) -> str:
    """``Việt_Nam , hội_đàm “ tốt ”`` -> ``Việt Nam, hội đàm “tốt”``."""
    text = text.replace("_", " ")
    return _NO_SPACE_AFTER.sub(r"\1", _NO_SPACE_BEFORE.sub(r"\1", text))


def seg_article(article_id: str, text: str) -> dict:
    """One ``.txt.seg`` file (layout ``tokenized_seg``) -> ``{id, title, summary, sentences}``."""
    blocks: list[list[str]] = [[]]
    for line in text.split("\n"):
        if line.strip():
            blocks[-1].append(line.strip())
        elif blocks[-1]:
            blocks.append([])
    blocks = [b for b in blocks if b]
    if len(blocks) < 3:
        raise FetchError(f"{article_id}: expected title, summary and body blocks, found {len(blocks)}")
    return {"id": article_id, "title": desegment(blocks[0][0]), "summary": desegment(" ".join(blocks[1])),
            "sentences": [desegment(s) for s in blocks[2]]}


def member_of(up: Upstream, article_id: str) -> str:
    """The archive member (without the ``REPO-COMMIT/`` folder) an article comes from."""
    if up.layout == "jekyll":
        return "_posts/" + article_id.rsplit("#", 1)[0]
    split, _, file = article_id.partition("/")
    return f"data/{split}_tokenized/{file}"


def apply_omissions(record: dict, omit: list[int]) -> dict:
    if omit:
        drop = set(omit)
        record = dict(record, paragraphs=[p for i, p in enumerate(record["paragraphs"]) if i not in drop])
    return record


def convert_member(up: Upstream, member: str, text: str) -> list[dict]:
    """Every article record one archive member holds."""
    if up.layout == "jekyll":
        return jekyll_articles(member.rsplit("/", 1)[1], text)
    split = member.split("/")[1].removesuffix("_tokenized")
    return [seg_article(f"{split}/{member.rsplit('/', 1)[1]}", text)]


def _check_lines(archive, member: str, text: str, limit: int | None = None) -> None:
    """A :class:`FetchError` naming the first line of ``member`` longer than ``limit`` bytes
    (default :data:`MAX_LINE_BYTES`)."""
    limit = MAX_LINE_BYTES if limit is None else limit
    lines = text.split("\n")  # bounded: the member is at most MAX_MEMBER_BYTES
    if max(map(len, lines)) * 4 <= limit:  # no line can reach the limit, even at 4 bytes a character
        return
    for lineno, line in enumerate(lines, start=1):
        if len(line) * 4 > limit and len(line.encode("utf-8")) > limit:
            raise FetchError(f"{archive}: {member}:{lineno}: line longer than {limit} bytes, the cap per line; "
                             "not the pinned upstream archive (tampered?); refusing it")


def iter_members(archive, up: Upstream, wanted: set[str]) -> Iterator[tuple[str, str]]:
    """Stream ``(member, text)`` of the wanted members of a GitHub source archive (``r|gz``).

    Bounded: a wanted member larger than :data:`MAX_MEMBER_BYTES` (its header says so before
    anything is inflated) or with a line longer than :data:`MAX_LINE_BYTES` is a
    :class:`FetchError` naming it; members not wanted stream past without being kept.
    """
    try:
        with tarfile.open(archive, mode="r|gz") as tar:
            for info in tar:
                tar.members = []  # a stream keeps every header it read: millions of entries, unbounded
                if not info.isfile() or not info.name.startswith(up.prefix):
                    continue
                member = info.name[len(up.prefix):]
                if member not in wanted:
                    continue
                if info.size > MAX_MEMBER_BYTES:
                    raise FetchError(f"{archive}: member {member} inflates to {info.size} bytes, over the cap of "
                                     f"{MAX_MEMBER_BYTES} bytes per archive member; not the pinned upstream "
                                     "archive (tampered?); refusing it")
                fh = tar.extractfile(info)
                raw = fh.read(MAX_MEMBER_BYTES + 1) if fh is not None else b""
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise FetchError(f"{archive}: {member} is not UTF-8 text") from None
                del raw
                _check_lines(archive, member, text)
                yield member, text
    except (tarfile.TarError, EOFError, OSError) as e:
        raise FetchError(f"{archive}: not a readable .tar.gz ({e}); delete it and fetch again") from None


def convert_archive(archive, name: str, manifest: dict | None = None) -> list[str]:
    """The verified ``articles.jsonl`` lines of corpus ``name`` from a local archive, in manifest order.

    Reads only the members the manifest lists; an article whose line hash differs from the
    manifest (a tampered or different upstream file) or that the archive lacks is a
    :class:`FetchError` naming it.
    """
    up = upstream(name)
    manifest = manifest or load_manifest(name)
    entries = manifest["articles"]
    by_member: dict[str, list[dict]] = {}
    for e in entries:
        by_member.setdefault(member_of(up, e["id"]), []).append(e)
    lines: dict[str, str] = {}
    for member, text in iter_members(archive, up, set(by_member)):
        records = {r["id"]: r for r in convert_member(up, member, text)}
        for e in by_member[member]:
            rec = records.get(e["id"])
            if rec is None:
                raise FetchError(f"{archive}: article {e['id']} is not in {member} (tampered or different upstream)")
            line = canonical_line(apply_omissions(rec, e.get("omit", [])))
            if line_sha256(line) != e["sha256"]:
                raise FetchError(f"{archive}: article {e['id']} ({member}) does not match the manifest hash; "
                                 f"the archive is tampered or not commit {up.commit[:12]}; refusing it")
            lines[e["id"]] = line
    missing = [e["id"] for e in entries if e["id"] not in lines]
    if missing:
        raise FetchError(f"{archive}: {len(missing)} article(s) of {name} missing from the archive "
                         f"(first: {missing[0]}, member {member_of(up, missing[0])}); is it {up.archive_name}?")
    return [lines[e["id"]] for e in entries]


def verify_lines(lines, name: str, manifest: dict | None = None, where: str = "") -> None:
    """Check ``articles.jsonl`` lines against the manifest (same ids, order and hashes)."""
    manifest = manifest or load_manifest(name)
    entries = manifest["articles"]
    if len(lines) != len(entries):
        raise FetchError(f"{where}: {len(lines)} articles, the manifest of {name} lists {len(entries)}")
    for i, (line, e) in enumerate(zip(lines, entries), start=1):
        if line_sha256(line) != e["sha256"]:
            raise FetchError(f"{where}:{i}: article {e['id']} does not match the manifest hash")


# ---------------------------------------------------------------- download

def download(url: str, dest, *, timeout: float = 30.0, progress: Callable[[int, int | None], None] | None = None,
             retries: int = 3) -> Path:
    """Stream ``url`` to ``dest`` through ``dest.part``, resuming with an HTTP ``Range`` when the server allows.

    ``progress(done_bytes, total_bytes_or_None)`` is called per chunk. ``dest`` appears only
    once the download is complete; an interrupted one leaves ``dest.part`` to resume from.
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(retries):
        done = start = part.stat().st_size if part.exists() else 0
        req = urllib.request.Request(url, headers={"User-Agent": "vistance-fetch"})
        if done:
            req.add_header("Range", f"bytes={done}-")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                if done and resp.status != 206:  # the server ignored Range: start again
                    done = 0
                length = resp.headers.get("Content-Length")
                total = done + int(length) if length and length.isdigit() else None
                with open(part, "ab" if done else "wb") as fh:
                    while block := resp.read(CHUNK):
                        fh.write(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
            if total is not None and done < total:
                raise urllib.error.URLError(f"connection closed after {done} of {total} bytes")
            part.replace(dest)
            return dest
        except urllib.error.HTTPError as e:
            if e.code == 416 and done:  # the part file is already complete
                part.replace(dest)
                return dest
            raise FetchError(f"cannot download {url}: HTTP {e.code} {e.reason}") from None
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            progressed = part.exists() and part.stat().st_size > start
            if attempt == retries - 1 or not progressed:  # unreachable: fail now; cut off: resume
                reason = getattr(e, "reason", e)
                raise FetchError(f"cannot download {url} ({reason})") from None
            time.sleep(1.0 * (attempt + 1))
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- the job

def offline_message(name: str, archive_dir=DEFAULT_ARCHIVE_DIRS[0]) -> str:
    up = upstream(name)
    return (f"{name}: not fetched (offline?): download {up.url} and put it at "
            f"{Path(archive_dir) / up.archive_name} (or pass --archive PATH)")


def _find_archive(up: Upstream, dirs) -> Path | None:
    for d in dirs:
        p = Path(d) / up.archive_name
        if p.is_file():
            return p
    return None


def _write_lines(out_file: Path, lines) -> tuple[int, str]:
    """Write ``lines`` (``str`` or ``bytes``, streamed) atomically; ``(bytes, sha256)`` of what was written."""
    from vistance.io import atomic_write

    h = hashlib.sha256()
    size = 0
    with atomic_write(out_file, "wb") as fh:
        for line in lines:
            data = line.encode("utf-8") if isinstance(line, str) else line
            fh.write(data)
            h.update(data)
            size += len(data)
    return size, h.hexdigest()


def _read_lines(path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.readlines()


def verified_file_lines(path, name: str, manifest: dict | None = None, where: str = "") -> Iterator[bytes]:
    """Stream the lines of an ``articles.jsonl`` (as bytes), each checked against the manifest as
    it is read: the first line that differs (or is longer than :data:`MAX_LINE_BYTES`), a missing
    or an extra article is a :class:`FetchError`. One line is held at a time, whatever the file
    holds (a huge or endless file costs no memory)."""
    manifest = manifest or load_manifest(name)
    entries = manifest["articles"]
    where = where or str(path)
    with open(path, "rb") as fh:
        for i, e in enumerate(entries, start=1):
            line = fh.readline(MAX_LINE_BYTES + 1)
            if not line:
                raise FetchError(f"{where}: {i - 1} articles, the manifest of {name} lists {len(entries)}")
            if len(line) > MAX_LINE_BYTES:
                raise FetchError(f"{where}:{i}: line longer than {MAX_LINE_BYTES} bytes, the cap per line")
            if hashlib.sha256(line).hexdigest() != e["sha256"]:
                raise FetchError(f"{where}:{i}: article {e['id']} does not match the manifest hash")
            yield line
        if fh.read(1):
            raise FetchError(f"{where}: more lines than the {len(entries)} articles the manifest of {name} lists")


def _check_file(path, name: str, manifest: dict) -> tuple[int, int, str]:
    """``(articles, bytes, sha256)`` of an ``articles.jsonl`` that matches the manifest (else FetchError)."""
    h, size, n = hashlib.sha256(), 0, 0
    for line in verified_file_lines(path, name, manifest):
        h.update(line)
        size += len(line)
        n += 1
    return n, size, h.hexdigest()


def set_aside(path: Path, suffix: str = ".unverified") -> Path:
    """Move ``path`` to ``<path><suffix>``, or ``<path><suffix>.2``, ``.3``, ... : the first free name,
    so an earlier copy set aside is never overwritten. Returns where it went."""
    for k in range(1, 10_000):
        dst = path.with_name(path.name + suffix + ("" if k == 1 else f".{k}"))
        if not dst.exists() and not dst.is_symlink():
            try:
                os.link(path, dst, follow_symlinks=False)  # fails if dst appeared meanwhile: never clobbers
            except FileExistsError:
                continue
            except OSError:  # no hard links here (some file systems): a plain rename
                if dst.exists():
                    continue
                path.rename(dst)
                return dst
            path.unlink()
            return dst
    raise FetchError(f"{path}: too many copies set aside next to it; delete some {path.name}{suffix}.* files")


def fetch_corpus(name: str, *, archive=None, out=None, url: str | None = None, reference=None,
                 archive_dirs=DEFAULT_ARCHIVE_DIRS, download_ok: bool = True, timeout: float = 30.0,
                 progress: Callable[[int, int | None], None] | None = None, optional: bool = False) -> FetchReport:
    """Fetch upstream corpus ``name`` (a committed manifest) into ``out/articles.jsonl``, verified.

    Sources, first that applies:

    1. ``out/articles.jsonl`` already there and matching the manifest: nothing to do;
    2. ``reference``: an existing ``articles.jsonl`` (e.g. ``../shared/corpus/<name>/articles.jsonl``),
       used when present and matching the manifest (copied, no network);
    3. ``archive``: a local ``REPO-COMMIT.tar.gz`` in GitHub's layout (an error if it is missing);
    4. the archive found in ``archive_dirs`` (default ``data/corpora/downloads/``, ``../shared/upstream/``);
    5. download ``url`` (default the pinned GitHub archive) to ``archive_dirs[0]`` (``timeout``
       seconds per read, ``progress(done, total)``, resumable ``.part`` file), when ``download_ok``.

    ``out`` defaults to ``data/corpora/<name>``. Every article is checked against the
    manifest; the file is written atomically. When nothing is available (offline, no archive):
    with ``optional`` a report with ``fetched=False`` and a one-line ``message`` saying what to
    download and where to put it; without, a :class:`FetchError` with that line.
    """
    up = upstream(name)
    manifest = load_manifest(name)
    out = Path(out) if out is not None else DEFAULT_ROOT / name
    out_file = out / "articles.jsonl"
    report = FetchReport(name=name, out=str(out_file))

    def done(lines, source: str) -> FetchReport:
        n = 0

        def counted():
            nonlocal n
            for line in lines:
                n += 1
                yield line

        report.bytes, report.sha256 = _write_lines(out_file, counted())
        report.articles, report.source, report.fetched = n, source, True
        _write_status(out, report, up)
        return report

    aside = None
    if out_file.is_file():
        try:
            report.articles, report.bytes, report.sha256 = _check_file(out_file, name, manifest)
            report.source, report.fetched = "already up to date", True
            _write_status(out, report, up)
            return report
        except FetchError as e:  # not the corpus: set aside (never over an earlier copy), so nothing reads it as such
            aside = set_aside(out_file)
            report.notes.append(f"{e}; your file is kept as {aside}, fetching again")
    try:
        return _fetch_from_sources(name, up, manifest, report, done, out, archive=archive, url=url,
                                   reference=reference, archive_dirs=archive_dirs, download_ok=download_ok,
                                   timeout=timeout, progress=progress, optional=optional)
    except FetchError as e:
        if aside is None:
            raise
        raise FetchError(f"{e}; the previous {out_file.name}, which did not match the manifest, is kept as "
                         f"{aside}") from None


def _fetch_from_sources(name, up, manifest, report, done, out, *, archive, url, reference, archive_dirs,
                        download_ok, timeout, progress, optional) -> FetchReport:
    """Steps 2-5 of :func:`fetch_corpus` (the output file is absent or was set aside)."""
    if reference is not None and Path(reference).is_file():
        try:
            _check_file(reference, name, manifest)
        except FetchError as e:
            report.notes.append(f"{e}; not using it")
        else:  # copied line by line, each checked again as it is copied
            return done(verified_file_lines(reference, name, manifest), f"verified copy of {reference}")
    if archive is not None:
        if not Path(archive).is_file():
            raise FetchError(f"{archive}: no such archive (expected {up.archive_name} from {up.url})")
        return done(convert_archive(archive, name, manifest), f"archive {archive}")
    found = _find_archive(up, archive_dirs)
    if found is not None:
        return done(convert_archive(found, name, manifest), f"archive {found}")
    if download_ok:
        dest = Path(archive_dirs[0]) / up.archive_name
        try:
            got = download(url or up.url, dest, timeout=timeout, progress=progress)
        except FetchError as e:
            if not optional:
                raise FetchError(f"{e}; {offline_message(name, archive_dirs[0])}") from None
            report.notes.append(str(e))
        else:
            return done(convert_archive(got, name, manifest), f"download {url or up.url}")
    report.source, report.message = "missing", offline_message(name, archive_dirs[0])
    if not optional:
        raise FetchError(report.message)
    report.message += "; continuing without it"
    _write_status(out, report, up)
    return report


def _write_status(out: Path, report: FetchReport, up: Upstream) -> None:
    """``out/fetch.json``: what the folder holds, the same bytes whatever the source (DVC tracks it)."""
    from vistance.io import write_json

    write_json(out / "fetch.json", {"name": report.name, "commit": up.commit, "fetched": report.fetched,
                                    "articles": report.articles, "sha256": report.sha256 or None})


# ---------------------------------------------------------------- maintenance

def build_manifest(name: str, archive, reference) -> dict:
    """Derive the manifest of ``name`` from an archive and the reference ``articles.jsonl``.

    For each reference article: its id, the sha256 of its line, and the indices of the converted
    paragraphs the reference leaves out (``omit``, only when there are some). Fails when a
    reference article is not a subsequence of its converted upstream paragraphs.
    """
    up = upstream(name)
    ref_lines = _read_lines(reference)
    refs = [json.loads(line) for line in ref_lines]
    by_member: dict[str, list[int]] = {}
    for i, r in enumerate(refs):
        by_member.setdefault(member_of(up, r["id"]), []).append(i)
    entries: list[dict | None] = [None] * len(refs)
    for member, text in iter_members(archive, up, set(by_member)):
        converted = {r["id"]: r for r in convert_member(up, member, text)}
        for i in by_member[member]:
            ref, rec = refs[i], converted.get(refs[i]["id"])
            if rec is None:
                raise FetchError(f"{ref['id']}: not produced from {member}")
            omit = []
            if up.layout == "jekyll":
                it = iter(range(len(rec["paragraphs"])))
                want = ref["paragraphs"]
                k = 0
                for j in it:
                    if k < len(want) and rec["paragraphs"][j] == want[k]:
                        k += 1
                    else:
                        omit.append(j)
            line = canonical_line(apply_omissions(rec, omit))
            if line != ref_lines[i]:
                raise FetchError(f"{ref['id']}: the conversion does not reproduce the reference line")
            entries[i] = {"id": ref["id"], "sha256": line_sha256(line), **({"omit": omit} if omit else {})}
    missing = [refs[i]["id"] for i, e in enumerate(entries) if e is None]
    if missing:
        raise FetchError(f"{len(missing)} reference article(s) not in the archive (first: {missing[0]})")
    return {"name": name, "repository": f"https://github.com/{up.repo}", "commit": up.commit, "layout": up.layout,
            "url": up.url, "archive_sha256": None,
            "line": "json.dumps(record, ensure_ascii=False) + '\\n', UTF-8; sha256 of those bytes",
            "articles": entries}

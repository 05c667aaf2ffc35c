"""The annotation round trip against a real Label Studio 1.23.2 (``make test-labelstudio``).

Skipped unless ``VISTANCE_LABELSTUDIO`` names the virtual environment Label Studio is
installed in (``make test-labelstudio`` creates ``.venv-labelstudio``). The test starts its own
server on 127.0.0.1 (sqlite in a temporary folder, no outbound calls), stops it at the end, and
uses only a tiny synthetic paragraphs file. With ``VISTANCE_LABELSTUDIO_RECORD=DIR`` it saves the
server's exports (ids and labels only, no text) for the default suite (``tests/data/labelstudio``).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

LS_VENV = os.environ.get("VISTANCE_LABELSTUDIO")
pytestmark = [pytest.mark.labelstudio,
              pytest.mark.skipif(not LS_VENV, reason="set VISTANCE_LABELSTUDIO=<venv with label-studio> "
                                                     "(make test-labelstudio)")]

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "0123456789abcdef0123456789abcdef01234567"
USERS = {  # email -> (first, last, legacy API token)
    "alice@example.com": ("Alice", "Nguyen", "a" * 40),
    "bob@example.com": ("Bob", "Tran", "b" * 40),
}
# synthetic paragraphs (made up for this test; no corpus text)
TEXTS = [
    "Hai bên nhất trí thúc đẩy thương mại và đầu tư song phương trong năm tới.",
    "Tàu cá bị tàu nước ngoài xua đuổi trên biển, Bộ Ngoại giao phản đối mạnh mẽ.",
    "Đoạn văn tổng hợp không thuộc chủ đề nào cụ thể.",
    "Hai trường đại học ký thỏa thuận trao đổi sinh viên và hợp tác nghiên cứu.",
    "Hai nước hợp tác phát triển công nghệ bán dẫn và trí tuệ nhân tạo.",
    "Dự án đường sắt cao tốc được hai bên bàn thảo tại cuộc họp.",
    "Một đoạn văn chưa ai chú thích.",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ls_env(data_dir) -> dict:
    return {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir), "LATEST_VERSION_CHECK": "false",
            "COLLECT_ANALYTICS": "false", "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
            "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}


def _manage_py(venv: Path) -> Path:
    return next(venv.glob("lib/python3*/site-packages/label_studio/manage.py"))


SETUP_DB = """
from jwt_auth.models import JWTSettings
from organizations.models import Organization
from users.models import User
from rest_framework.authtoken.models import Token
org = Organization.objects.first()
s, _ = JWTSettings.objects.get_or_create(organization=org)
s.legacy_api_tokens_enabled = True
s.save()
for email, (first, last, key) in USERS.items():
    u = User.objects.filter(email=email).first() or User.objects.create_user(email=email, password="pass12345")
    u.first_name, u.last_name, u.username = first, last, email.split("@")[0]
    u.active_organization = org
    u.save()
    org.add_user(u)
    Token.objects.filter(user=u).delete()
    Token.objects.create(user=u, key=key)
print("setup ok")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Label Studio on 127.0.0.1 (own sqlite), stopped when the module's tests end."""
    import requests

    venv = Path(LS_VENV).resolve()
    data = tmp_path_factory.mktemp("lsdata")
    port = _free_port()
    log = open(data / "server.log", "w")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [str(venv / "bin/label-studio"), "start", "--no-browser", "--port", str(port), "--host", "127.0.0.1",
         "--internal-host", "127.0.0.1", "--username", "admin@example.com", "--password", "pass12345",
         "--user-token", ADMIN_TOKEN],
        env=_ls_env(data), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if proc.poll() is not None:
                pytest.fail(f"Label Studio exited ({proc.returncode}); log: {(data / 'server.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(1)
        else:
            pytest.fail("Label Studio did not answer /health within 4 minutes")
        started = time.monotonic() - t0
        manage = _manage_py(venv)
        code = f"USERS = {USERS!r}\n" + SETUP_DB
        r = subprocess.run([str(venv / "bin/python"), manage.name, "shell", "-c", code], cwd=manage.parent,
                           env=_ls_env(data), capture_output=True, text=True, timeout=300)
        assert "setup ok" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
        print(f"\nLabel Studio up on {url} in {started:.0f} s (data {data})")
        yield {"url": url, "venv": venv}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


class Api:
    def __init__(self, url, token):
        import requests

        self.url, self.s = url, requests.Session()
        self.s.headers["Authorization"] = f"Token {token}"

    def __call__(self, method, path, **kw):
        r = self.s.request(method, self.url + path, timeout=120, **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r.json() if r.content else None


def _vistance(*args):
    r = subprocess.run([sys.executable, "-m", "vistance.cli", *map(str, args)], capture_output=True, text=True,
                       cwd=ROOT, timeout=600)
    print(f"$ vistance {' '.join(map(str, args))}\n{r.stdout}{r.stderr}")
    return r


def _result(themes, tone):
    return [{"from_name": "themes", "to_name": "text", "type": "choices", "value": {"choices": themes}},
            {"from_name": "tone", "to_name": "text", "type": "choices", "value": {"choices": [tone]}}]


def _strip(tasks):
    """An export with ids and labels only: the paragraph text and title removed."""
    for t in tasks:
        for d in (t.get("data"), t):
            if isinstance(d, dict):
                for k in ("text", "title"):
                    d.pop(k, None)
    return tasks


def test_round_trip_with_two_annotators(server, tmp_path):
    from vistance.corpus import Paragraph, write_paragraphs
    from vistance.labels.store import read_labels
    from vistance.models.lexicon import LexiconModel
    from vistance.text.normalize import text_sha1

    t_all = time.monotonic()
    paras = [Paragraph(paragraph_id=f"synth/p{i:03d}", article_id="synth", index=i, text=t, text_sha1=text_sha1(t),
                       title="Synthetic", date="2026-01-01", source="synthetic") for i, t in enumerate(TEXTS)]
    pfile = tmp_path / "paragraphs.jsonl"
    write_paragraphs(paras, pfile)
    (tmp_path / "ids_a.txt").write_text("\n".join(p.paragraph_id for p in paras[:4] + paras[6:]) + "\n")
    (tmp_path / "ids_b.txt").write_text("\n".join(p.paragraph_id for p in paras[4:6]) + "\n")
    model = tmp_path / "lexicon"
    LexiconModel().save(model)

    # 1. export: plain tasks, and tasks pre-annotated by a model
    assert _vistance("annotate", "export", "--format", "labelstudio", "--paragraphs", pfile, "--ids",
                     tmp_path / "ids_a.txt", "--exclude", "--out", tmp_path / "batch.json").returncode == 0
    assert _vistance("annotate", "export", "--format", "labelstudio", "--paragraphs", pfile, "--ids",
                     tmp_path / "ids_b.txt", "--exclude", "--predictions-from", model,
                     "--out", tmp_path / "batch_suggested.json").returncode == 0
    suggested_tasks = json.loads((tmp_path / "batch_suggested.json").read_text())
    assert all(t["predictions"][0]["result"][0]["from_name"] == "themes" for t in suggested_tasks)

    # 2. a project with the exported config, as is; import both task files
    admin = Api(server["url"], ADMIN_TOKEN)
    project = admin("POST", "/api/projects", json={"title": "vistance round trip",
                                                    "label_config": (tmp_path / "batch.config.xml").read_text()})
    pid = project["id"]
    admin("POST", f"/api/projects/{pid}/import", json=json.loads((tmp_path / "batch.json").read_text()))
    admin("POST", f"/api/projects/{pid}/import", json=suggested_tasks)
    listing = admin("GET", f"/api/tasks?project={pid}&page_size=100")
    tasks = listing["tasks"] if isinstance(listing, dict) else listing
    tid = {t["data"]["paragraph_id"]: t["id"] for t in tasks}
    assert len(tid) == len(paras)
    ls_preds = [t for t in tasks if t.get("total_predictions")]
    assert len(ls_preds) == 2  # the server took the model's predictions

    # 3. two annotators annotate through the REST API
    alice, bob = (Api(server["url"], USERS[e][2]) for e in ("alice@example.com", "bob@example.com"))

    def annotate(who, i, themes, tone):
        return who("POST", f"/api/tasks/{tid[paras[i].paragraph_id]}/annotations",
                   json={"result": _result(themes, tone), "was_cancelled": False, "lead_time": 3.0})

    annotate(alice, 0, ["political_relations", "economy_trade"], "cooperative")
    annotate(bob, 0, ["economy_trade"], "cooperative")
    annotate(bob, 1, ["maritime", "defense_security"], "contentious")       # bob first on p001
    annotate(alice, 1, ["maritime"], "contentious")
    alice("POST", f"/api/tasks/{tid[paras[2].paragraph_id]}/annotations",
          json={"result": [], "was_cancelled": True, "lead_time": 1.0})        # a skip
    annotate(bob, 2, ["other"], "neutral")
    first = annotate(alice, 3, ["people_culture_education"], "neutral")
    time.sleep(1.1)
    alice("PATCH", f"/api/annotations/{first['id']}",                          # a later edit
          json={"result": _result(["people_culture_education", "science_technology"], "cooperative")})
    annotate(alice, 4, ["science_technology"], "cooperative")                 # suggested tasks
    annotate(bob, 4, ["science_technology"], "neutral")
    annotate(alice, 5, ["infrastructure"], "neutral")
    time.sleep(1.1)
    annotate(alice, 5, ["infrastructure", "economy_trade"], "cooperative")    # same annotator again: supersedes

    # 4. export JSON and JSON_MIN, and the users
    exp = admin("GET", f"/api/projects/{pid}/export?exportType=JSON&download_all_tasks=true")
    exp_min = admin("GET", f"/api/projects/{pid}/export?exportType=JSON_MIN&download_all_tasks=true")
    users = admin("GET", "/api/users")
    for name, obj in (("export.json", exp), ("export_min.json", exp_min), ("users.json", users)):
        (tmp_path / name).write_text(json.dumps(obj, ensure_ascii=False, indent=1))
    record = os.environ.get("VISTANCE_LABELSTUDIO_RECORD")
    if record:
        Path(record).mkdir(parents=True, exist_ok=True)
        keep = lambda u: {k: u.get(k) for k in ("id", "first_name", "last_name", "username", "email")}
        (Path(record) / "users.json").write_text(json.dumps([keep(u) for u in users], indent=1) + "\n")
        for name, obj in (("export.json", exp), ("export_min.json", exp_min)):
            (Path(record) / name).write_text(json.dumps(_strip(obj), ensure_ascii=False, indent=1) + "\n")
        (Path(record) / "paragraphs.json").write_text(json.dumps(
            [{"paragraph_id": p.paragraph_id, "text_sha1": p.text_sha1} for p in paras], indent=1) + "\n")

    # 5. import both formats
    expected_1 = {
        "synth/p000": (["economy_trade", "political_relations"], "cooperative", "Alice Nguyen", None),
        "synth/p001": (["maritime", "defense_security"], "contentious", "Bob Tran", None),
        "synth/p002": (["other"], "neutral", "Bob Tran", None),
        "synth/p003": (["science_technology", "people_culture_education"], "cooperative", "Alice Nguyen", None),
        "synth/p004": (["science_technology"], "cooperative", "Alice Nguyen", True),
        "synth/p005": (["economy_trade", "infrastructure"], "cooperative", "Alice Nguyen", True),
    }
    expected_2 = {
        "synth/p000": (["economy_trade"], "cooperative", "Bob Tran", None),
        "synth/p001": (["maritime"], "contentious", "Alice Nguyen", None),
        "synth/p004": (["science_technology"], "neutral", "Bob Tran", True),
    }
    got = {}
    for fmt, f in (("JSON", tmp_path / "export.json"), ("JSON_MIN", tmp_path / "export_min.json")):
        one, two = tmp_path / f"{fmt}_first.jsonl", tmp_path / f"{fmt}_second.jsonl"
        args = ["annotate", "import", f, "--into", one, "--second-into", two, "--paragraphs", pfile,
                "--users", tmp_path / "users.json", "--annotator", "should-not-appear"]
        r = _vistance(*args)
        assert r.returncode == 0, r.stderr
        assert f"Label Studio {fmt} export" in r.stderr
        assert "1 superseded" in r.stderr
        assert "1 task(s) not annotated" in r.stderr
        assert ("1 skipped" if fmt == "JSON" else "0 skipped") in r.stderr  # JSON_MIN leaves skips out
        view = lambda p: {l.paragraph_id: (l.themes, l.tone, l.annotator, l.suggested) for l in read_labels(p)}
        assert view(one) == expected_1
        assert view(two) == expected_2
        before = (one.read_bytes(), two.read_bytes())
        r2 = _vistance(*args)                                    # importing twice changes nothing
        assert r2.returncode == 0 and "6 unchanged" in r2.stderr and "3 unchanged" in r2.stderr
        assert (one.read_bytes(), two.read_bytes()) == before
        got[fmt] = view(one), view(two)
    assert got["JSON"] == got["JSON_MIN"]

    # 6. agreement straight from the import, and the adjudication batch
    one, two = tmp_path / "JSON_first.jsonl", tmp_path / "JSON_second.jsonl"
    r = _vistance("agreement", "--first", one, "--second", two, "--out", tmp_path / "agreement.json")
    assert r.returncode == 0 and "double-coded paragraphs: 3" in r.stdout
    rep = json.loads((tmp_path / "agreement.json").read_text())
    assert rep["by_suggestion"]["with_suggestion"]["n"] == 1 and rep["by_suggestion"]["without_suggestion"]["n"] == 2
    r = _vistance("annotate", "export-adjudication", "--first", one, "--second", two, "--out", tmp_path / "adj.jsonl")
    batch = [json.loads(l) for l in (tmp_path / "adj.jsonl").read_text().splitlines()]
    assert {b["paragraph_id"]: b["disagree_on"] for b in batch} == {
        "synth/p000": ["themes"], "synth/p001": ["themes"], "synth/p004": ["tone"]}

    # 7. names fetched from the server with label-studio-sdk (installed beside the server)
    code = ("import sys, json; sys.path.insert(0, 'src');"
            "from vistance.labels.annotation_io import fetch_user_names;"
            f"print(json.dumps(fetch_user_names({server['url']!r}, {ADMIN_TOKEN!r})))")
    r = subprocess.run([str(server["venv"] / "bin/python"), "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    from vistance.labels.annotation_io import read_users_file

    assert json.loads(r.stdout) == read_users_file(tmp_path / "users.json")
    print(f"round trip (after start-up): {time.monotonic() - t_all:.1f} s")

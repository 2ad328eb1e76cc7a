"""The auditor console in a real browser (issue 18; audit/CONSOLE.md, "Tests").

Run by .ci/browser-tests, which starts `pahlawan serve` on a demo ledger and sets CONSOLE_URL,
CONSOLE_COMPANY (a company with rescues) and CONSOLE_OUT (where screenshots, the printed PDF and
the accessibility results go). Headless Chromium is Debian's (/usr/bin/chromium), driven by
Playwright with no browser download; axe-core comes with axe-playwright-python.
"""

import base64
import json
import os
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect, sync_playwright

BASE = os.environ["CONSOLE_URL"].rstrip("/")
COMPANY = os.environ["CONSOLE_COMPANY"]
OUT = Path(os.environ.get("CONSOLE_OUT", "console-test-output"))
OUT.mkdir(parents=True, exist_ok=True)
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
VERIFY_BUDGET_MS = 100


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


class Console:
    """A browser tab with the console's rules on every load: no console errors, no page errors,
    no failed requests of our own."""

    def __init__(self, page: Page):
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda message: self.errors.append(f"console {message.type}: {message.text}") if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def open(self, path: str):
        response = self.page.goto(BASE + path)
        assert response is not None and response.status == 200, f"{path}: HTTP {response.status if response else 'none'}"
        return response

    def sign_in(self, role: str, subject: str = "audit-1", next_path: str = "/console"):
        self.open(f"/console/sign-in?next={next_path}")
        self.page.select_option("#role", role)
        self.page.fill("#subject", subject)
        self.page.click("#dev-sign-in button[type=submit]")
        self.page.wait_for_url(re.compile(re.escape(BASE + next_path) + r"$"))

    def shot(self, name: str):
        self.page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)

    def verification(self, box=".verify"):
        locator = self.page.locator(box)
        expect(locator).to_have_attribute("data-result", re.compile("^(pass|fail|unsupported)$"), timeout=10_000)
        return locator.get_attribute("data-result"), locator

    def assert_clean(self):
        assert self.errors == [], self.errors


@pytest.fixture
def console(browser):
    context = browser.new_context(locale="id-ID", viewport={"width": 1280, "height": 900})
    tab = Console(context.new_page())
    yield tab
    context.close()


def first_entry_link(console: Console) -> str:
    """The first line of the company's CSR report that links to an entry."""
    link = console.page.locator("table.lines a[href^='/console/entries/']").first
    expect(link).to_be_visible()
    return link.get_attribute("href")


def test_health_page_verifies_the_checkpoint(console):
    console.open("/console")
    expect(console.page.locator("h1")).to_have_text("Kesehatan buku besar")
    expect(console.page.locator("svg.chart").first).to_be_visible()
    button = console.page.locator(".verify[data-verify=checkpoint] .verify-button")
    expect(button).to_be_visible()
    button.click()
    result, box = console.verification(".verify[data-verify=checkpoint]")
    assert result == "pass", box.inner_text()
    expect(console.page.locator("table").first).to_contain_text("witness.test.example/w1")
    console.shot("health")
    console.assert_clean()


def test_pages_need_sign_in_and_say_so(console):
    response = console.page.goto(BASE + "/console/entries")
    assert response.status == 401
    expect(console.page.locator(".problem")).to_contain_text("401")
    expect(console.page.locator(".problem a.button")).to_have_attribute("href", "/console/sign-in?next=/console/entries")
    console.shot("sign-in-required")


def test_company_to_entry_and_back_with_a_passing_verification(console):
    console.sign_in("auditor", next_path=f"/console/companies/{COMPANY}")
    company_url = console.page.url
    expect(console.page.locator("table.lines")).to_be_visible()
    console.shot("company-csr")
    href = first_entry_link(console)
    console.page.click(f"table.lines a[href='{href}']")
    console.page.wait_for_url(BASE + href)
    result, box = console.verification()
    assert result == "pass", box.inner_text()
    checks = console.page.locator("ol.verify-checks li")
    expect(checks).to_have_count(6)
    assert console.page.locator("ol.verify-checks li.fail").count() == 0
    # The run has one witness (quorum 1): its cosignature is checked, not skipped.
    expect(console.page.locator("ol.verify-checks li[data-check=cosignatures]")).to_contain_text("witness.test.example/w1 (1/1)")
    took = int(box.get_attribute("data-ms"))
    (OUT / "verify-ms.txt").write_text(f"{took}\n")
    print(f"in-browser verification of {href}: {took} ms (target {VERIFY_BUDGET_MS} ms)")
    assert took <= VERIFY_BUDGET_MS * 5, f"verification took {took} ms"  # the 100 ms target is reported, not asserted: timings are the bench's
    console.shot("entry")
    console.page.go_back()
    console.page.wait_for_url(company_url)
    expect(console.page.locator("table.lines")).to_be_visible()
    console.assert_clean()


def tamper(console: Console, change):
    """Serve the entry's evidence through `change` (a test double of the answer); the check
    itself is untouched."""

    def handle(route):
        response = route.fetch()
        evidence = response.json()
        change(evidence)
        route.fulfill(response=response, body=json.dumps(evidence), headers={**response.headers, "content-type": "application/json"})

    console.page.route("**/evidence.json", handle)


def flip_base64(text: str, at: int = 10) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[at % len(raw)] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def change_body(evidence):
    body = base64.b64decode(evidence["bodyBase64"]).decode()
    changed = re.sub(r'"time":(\d)', lambda m: '"time":' + str((int(m.group(1)) + 1) % 10), body, count=1)
    assert changed != body
    evidence["bodyBase64"] = base64.b64encode(changed.encode()).decode()


def change_proof(evidence):
    proof = evidence["inclusionProof"]
    assert proof, "the entry's proof is empty; pick an entry in a larger tree"
    proof[0] = ("0" if proof[0][0] != "0" else "1") + proof[0][1:]


def change_checkpoint_signature(evidence):
    note = evidence["checkpoint"]["note"]
    text, _, signatures = note.rpartition("\n\n")
    lines = signatures.split("\n")
    name, value = lines[0].rsplit(" ", 1)
    lines[0] = name + " " + flip_base64(value, 30)
    evidence["checkpoint"]["note"] = text + "\n\n" + "\n".join(lines)


def change_cosignature(evidence):
    note = evidence["checkpoint"]["note"]
    text, _, signatures = note.rpartition("\n\n")
    lines = signatures.split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("\u2014 witness.test.example/w1 "))
    name, value = lines[index].rsplit(" ", 1)
    lines[index] = name + " " + flip_base64(value, 40)
    evidence["checkpoint"]["note"] = text + "\n\n" + "\n".join(lines)


def change_key(evidence):
    # Another key entirely: the right format, a key id that matches it, but not the log's key.
    name = evidence["entryKey"].split("+", 1)[0]
    other = evidence["checkpointKey"] if evidence["checkpointKey"] != evidence["entryKey"] else None
    if other is None:
        import hashlib

        raw = bytes([1]) + bytes(range(32))
        key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex()
        other = f"{name}+{key_id}+{base64.b64encode(raw).decode()}"
    evidence["entryKey"] = other


@pytest.mark.parametrize(
    "change,failing",
    [
        (change_body, "leaf"),
        (lambda e: e.__setitem__("signature", flip_base64(e["signature"])), "signature"),
        (change_proof, "inclusion"),
        (change_checkpoint_signature, "checkpoint"),
        (change_key, "entryKey"),
        (change_cosignature, "cosignatures"),
        (lambda e: e.__setitem__("quorum", 2), "cosignatures"),
    ],
    ids=["body", "signature", "proof", "checkpoint-signature", "key", "cosignature", "quorum-raised"],
)
def test_a_tampered_answer_fails_and_names_the_check(console, change, failing):
    console.sign_in("auditor", next_path=f"/console/companies/{COMPANY}")
    href = first_entry_link(console)
    tamper(console, change)
    console.open(href)
    result, box = console.verification()
    assert result == "fail", box.inner_text()
    failed = console.page.locator(f"ol.verify-checks li[data-check={failing}]")
    expect(failed).to_have_class("fail")
    expect(console.page.locator(".verify-status")).to_contain_text("gagal")
    if failing == "leaf":
        console.shot("entry-tampered")
    console.assert_clean()


def test_language_switch_is_kept(console):
    console.open("/console")
    expect(console.page.locator("html")).to_have_attribute("lang", "id")
    console.page.click("header a.lang")
    expect(console.page.locator("html")).to_have_attribute("lang", "en")
    expect(console.page.locator("h1")).to_have_text("Ledger health")
    console.open("/console/carbon/retirements")
    expect(console.page.locator("html")).to_have_attribute("lang", "en")
    console.sign_in("auditor", next_path=f"/console/companies/{COMPANY}")
    expect(console.page.locator("html")).to_have_attribute("lang", "en")
    totals = console.page.locator("dl.totals").inner_text()
    assert "IDR " in totals or " kg" in totals or " t" in totals, totals
    console.shot("company-csr-en")
    console.page.click("header a.lang")
    expect(console.page.locator("html")).to_have_attribute("lang", "id")
    console.assert_clean()


def test_tax_officer_finds_checks_and_downloads_the_register(console):
    console.sign_in("tax_authority", subject="djp-officer-1", next_path="/console/companies")
    console.page.click(f"ul.companies a[href='/console/companies/{COMPANY}']")
    console.page.click(f"nav.tabs a[href^='/console/companies/{COMPANY}/tax']")
    console.page.fill("#year", "2026")
    console.page.click("form.search button[type=submit]")
    console.page.wait_for_url(re.compile(r"/tax\?year=2026"))
    console.shot("tax-register")
    with console.page.expect_download() as download:
        console.page.click("p.downloads a:text('CSV')")
    path = download.value.path()
    text = Path(path).read_text()
    assert text.splitlines()[0].count(",") >= 3, text[:200]
    (OUT / "tax-register.csv").write_text(text)
    if console.page.locator("table.lines a[href^='/console/entries/']").count() > 0:
        href = first_entry_link(console)
        console.open(href)
        result, box = console.verification()
        assert result == "pass", box.inner_text()
    console.assert_clean()


def test_print_layout(console):
    console.sign_in("auditor", next_path=f"/console/companies/{COMPANY}")
    console.page.emulate_media(media="print")
    expect(console.page.locator("header.top nav")).to_be_hidden()
    expect(console.page.locator("form.search").first).to_be_hidden()
    expect(console.page.locator("footer .print-only")).to_be_visible()
    expect(console.page.locator("footer")).to_contain_text("audit/verify.py")
    expect(console.page.locator(".report-checkpoint")).to_be_visible()
    exact = console.page.locator("dl.totals .exact").first
    if exact.count() > 0:
        assert exact.bounding_box()["width"] > 1, "the exact figure is not printed"
    console.page.pdf(path=str(OUT / "company-csr.pdf"), format="A4", print_background=False)
    assert (OUT / "company-csr.pdf").stat().st_size > 10_000
    console.shot("company-csr-print")
    console.assert_clean()


def test_carbon_registry_is_public(console):
    console.open("/console/carbon/serials")
    console.page.fill("#q", "PPG-2026-1")
    console.page.click("form.search button[type=submit]")
    console.page.wait_for_url(re.compile(r"/console/carbon/serials/2026/1$"))
    expect(console.page.locator("table tbody tr").first).to_be_visible()
    console.shot("serial")
    console.open("/console/carbon/holdings")
    expect(console.page.locator("table tbody tr").first).to_be_visible()
    console.shot("holdings")
    console.open("/console/carbon/retirements")
    console.shot("retirements")
    certificate = console.page.locator("a[href^='/console/carbon/retirements/']").first
    if certificate.count() > 0:
        certificate.click()
        expect(console.page.locator("article.certificate")).to_be_visible()
        console.shot("certificate")
    console.assert_clean()


AXE_PAGES = [
    ("/console", None),
    ("/console/sign-in", None),
    ("/console/carbon/serials", None),
    ("/console/carbon/serials/2026/1", None),
    ("/console/carbon/retirements", None),
    ("/console/carbon/holdings", None),
    ("/console/entries", "auditor"),
    ("/console/entries?kind=rescue.completed", "auditor"),
    ("/console/companies", "auditor"),
    (f"/console/companies/{COMPANY}", "auditor"),
    (f"/console/companies/{COMPANY}/tax?year=2026", "auditor"),
    (f"/console/companies/{COMPANY}/carbon", "auditor"),
]


def test_accessibility_no_serious_or_critical_violations(console):
    axe = Axe()
    report = {}
    signed_in = False
    entry = None
    serious = []
    for path, role in AXE_PAGES + [("ENTRY", "auditor")]:
        if role and not signed_in:
            console.sign_in(role, next_path=f"/console/companies/{COMPANY}")
            entry = first_entry_link(console)
            signed_in = True
        path = entry if path == "ENTRY" else path
        console.open(path)
        if path == entry:
            console.verification()
        results = axe.run(console.page)
        violations = results.response["violations"]
        report[path] = [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"]), "help": v["help"]} for v in violations]
        serious += [f"{path}: {v['id']} ({v['impact']}): {v['help']}" for v in violations if v["impact"] in ("serious", "critical")]
    (OUT / "axe.json").write_text(json.dumps(report, indent=2))
    print("axe: " + "; ".join(f"{p}: {len(v)} violation(s) {[x['id'] + '/' + str(x['impact']) for x in v]}" for p, v in report.items()))
    assert serious == [], serious
    console.assert_clean()

"""Each page end to end in Chromium: what a person sees is what the API holds afterwards."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import ROOT
from tests.e2e.pages.conftest import Site, Tab

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHECKSUMMED = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55's own example


def api_account(site: Site, user: str) -> dict[str, Any]:
    with site.as_user(user) as client:
        got = client.get(f"/v1/accounts/user:{user}:azr")
        assert got.status_code == 200, got.text
        account: dict[str, Any] = got.json()
        return account


def test_a_user_signs_in_sees_the_balance_and_redeems_into_a_hold(tab: Tab, site: Site) -> None:
    before = api_account(site, "ada")
    page = tab.open("/app/", user="ada")
    balance = page.locator('[data-account="user:ada:azr"]')
    assert balance.get_attribute("data-amount") == before["available"]
    assert "#token" not in page.url  # the token moved to sessionStorage, out of the URL
    assert page.evaluate("sessionStorage.getItem('azora.token')") == site.token("ada")

    page.get_by_role("button", name="Redeem T-shirt").click()
    page.get_by_label("Name", exact=True).fill("Ada Lovelace")
    page.get_by_label("Address", exact=True).fill("12 St James's Square")
    page.get_by_label("City", exact=True).fill("London")
    page.get_by_label("Postal code", exact=True).fill("SW1Y 4JH")
    page.get_by_label("Country", exact=True).fill("GB")
    page.get_by_role("button", name="Redeem and ship").click()
    page.locator("#redeem-notice").get_by_text("on hold").wait_for()

    after = api_account(site, "ada")
    assert after["pending_out"] == "30.000000000000000000"
    hold = page.locator('[data-hold="user:ada:azr"]')
    assert hold.get_attribute("data-amount") == after["pending_out"]
    assert balance.get_attribute("data-amount") == after["available"]
    assert page.locator('[data-status="held"]').count() == 1


def test_the_withdrawal_address_must_carry_its_checksum(tab: Tab, site: Site) -> None:
    page = tab.open("/app/", user="cy")
    address = page.get_by_label("Ethereum address (EIP-55 checksummed)")
    page.locator('[data-account="user:cy:azr"]').wait_for()
    check = page.locator("#withdraw-address-check")
    for wrong, says in ((CHECKSUMMED.lower(), "no EIP-55 checksum"),
                        (CHECKSUMMED.replace("aAeb", "aAEb"), "checksum does not match"),
                        ("0x1234", "40 hex digits")):  # fmt: skip
        address.fill(wrong)
        page.get_by_role("button", name="Withdraw").click()
        assert says in check.inner_text()
    assert not [u for u in tab.requests if "/redemptions" in u and "limit=" not in u]

    address.fill(CHECKSUMMED)
    assert check.inner_text() == "Checksum valid."
    page.get_by_role("button", name="Withdraw").click()
    page.locator("#withdraw-notice").get_by_text("redemption").wait_for()
    with site.as_user("cy") as client:
        (made,) = client.get("/v1/users/cy/redemptions").json()["data"]
    assert made["eth_address"].lower() == CHECKSUMMED.lower() and made["item_id"] == "withdraw-10"


def test_the_leaderboard_highlights_the_users_own_rank(tab: Tab, site: Site) -> None:
    page = tab.open("/app/leaderboards")
    page.get_by_label("Token", exact=True).fill(site.token("cy"))  # the sign-in form this time
    page.get_by_role("button", name="Sign in").click()
    mine = page.locator('tr[aria-current="true"]')
    assert mine.get_attribute("data-user") == "cy"
    users = page.locator("#board tbody tr").evaluate_all("rows => rows.map(r => r.dataset.user)")
    assert users == ["ada", "cy", "ben"]
    page.get_by_label("This week").check()
    page.locator("#board-me").get_by_text("#2").wait_for()


def test_in_development_a_token_is_asked_for_with_the_admin_key(tab: Tab, site: Site) -> None:
    page = tab.open("/app/leaderboards")
    page.get_by_text("Development only: get a user token with the admin key").click()
    page.get_by_label("User id").fill("ben")
    key = site.admin.headers["Authorization"].removeprefix("Bearer ")
    page.get_by_label("Admin API key").fill(key)
    page.get_by_role("button", name="Get a token").click()
    page.locator('[data-user="ben"]').first.wait_for()
    assert key not in page.evaluate("JSON.stringify(sessionStorage)")


def test_a_declined_card_shows_the_problem_and_a_good_one_upgrades(tab: Tab, site: Site) -> None:
    page = tab.open("/app/plans", user="ben")
    page.locator('[data-plan-card="free"][aria-current="true"]').wait_for()
    cell = page.locator('[data-plan="pro"][data-feature="course_certificates"]')
    assert cell.inner_text() == "Yes"
    page.get_by_label("Payment method").select_option("pm_card_chargeDeclined")
    page.get_by_role("button", name="Upgrade to Pro").click()
    problem = page.locator("#plan-problem")
    problem.get_by_role("link", name="payment-declined").wait_for()
    assert "(402)" in problem.inner_text()
    with site.as_user("ben") as client:
        assert client.get("/v1/users/ben/subscription").json()["plan"] == "free"

    page.get_by_label("Payment method").select_option("pm_card_visa")
    page.get_by_role("button", name="Upgrade to Pro").click()
    page.locator('[data-plan-card="pro"][aria-current="true"]').wait_for()
    with site.as_user("ben") as client:
        sub = client.get("/v1/users/ben/subscription").json()
    assert (sub["plan"], sub["status"]) == ("pro", "active")


def test_a_purchase_from_the_marketplace_lands_in_the_library(tab: Tab, site: Site) -> None:
    page = tab.open("/app/marketplace", user="ben")
    page.get_by_role("searchbox", name="Search").fill("python")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("button", name="Open Python from zero").click()
    page.get_by_role("button", name="Buy for $49.99").click()
    page.locator(f'[data-library="{site.course_id}"]').wait_for()
    with site.as_user("ben") as client:
        library = client.get("/v1/users/ben/library").json()["data"]
    assert [item["course"]["id"] for item in library] == [site.course_id]


def test_a_slow_first_listing_never_lands_on_top_of_a_search(tab: Tab, site: Site) -> None:
    held: list[Any] = []

    def hold_the_unfiltered_listing(route: Any) -> None:
        if "q=" in route.request.url:
            route.continue_()
        else:
            held.append(route)

    tab.page.route("**/v1/courses?*", hold_the_unfiltered_listing)
    page = tab.open("/app/marketplace")
    page.get_by_role("searchbox", name="Search").fill("python")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("button", name="Open Python from zero").wait_for()
    assert len(held) == 1
    held[0].continue_()  # the first listing answers last
    page.wait_for_function("document.querySelectorAll('#results li').length > 0")
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("button", name="Open Python from zero").count() == 1
    shown = page.locator("#results li").count()
    plural = "" if shown == 1 else "s"
    assert page.locator("#results-count").inner_text() == f"{shown} course{plural} shown."


def test_the_enterprise_dashboard_verifies_its_license(tab: Tab, site: Site) -> None:
    page = tab.open("/app/enterprise", user="ada")
    page.locator('[data-metric="API calls"]').get_by_text("640").wait_for()
    assert page.locator("svg.chart rect.used").count() >= 2
    page.get_by_role("button", name="Verify the key").click()
    result = page.locator('[data-license-valid="true"]')
    result.get_by_text("also verifies in this browser").wait_for()
    assert page.locator('[data-branding="Acme Learning"]').count() == 1


def _earning_of(site: Site, user: str) -> str:
    with site.as_user(user) as client:
        history = client.get(f"/v1/users/{user}/rewards/history").json()["data"]
    earned = [h["entry_id"] for h in history if h["kind"].startswith("reward.earned")]
    return str(earned[-1])


def test_the_auditor_page_says_valid_for_a_real_anchored_entry(tab: Tab, site: Site) -> None:
    entry = _earning_of(site, "ada")
    site.wait_for_proof("ada", entry)
    page = tab.open("/app/")  # sign in first, then follow the link a person would
    page.get_by_label("Token", exact=True).fill(site.token("ada"))
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{site.url}/app/audit?entry={entry}")
    verdict = page.locator('[data-verdict="valid"]')
    verdict.wait_for()
    assert entry in verdict.inner_text() and "anchored on chain 31337" in verdict.inner_text()
    assert page.locator("#path li").count() >= 2  # the leaf, each level, the root
    assert [u for u in tab.requests if u.startswith(site.node.rpc_url)]  # it asked the chain


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("path", "does not lead to the root anchored on chain"),
        ("leaf", "leaf bytes were altered"),
        ("size", "claims tree size"),
    ],
)
def test_the_auditor_page_says_invalid_for_a_tampered_proof(
    tab: Tab, site: Site, tamper: str, reason: str
) -> None:
    entry = _earning_of(site, "ada")
    proof = site.wait_for_proof("ada", entry)
    if tamper == "path" and proof["inclusion_proof"]:
        first = proof["inclusion_proof"][0]
        proof["inclusion_proof"][0] = first[:-1] + ("0" if first[-1] != "0" else "1")
    elif tamper == "path":
        proof["leaf_index"] = proof["leaf_index"] + 1
    if tamper == "leaf":
        proof["leaf"] = proof["leaf"].replace('"seq":', '"seq": ', 1)
    if tamper == "size":
        proof["tree_size"] = proof["tree_size"] * 2
    page = tab.open("/app/audit")
    page.get_by_label("Or paste a proof or receipt (JSON)").fill(json.dumps(proof))
    page.get_by_role("button", name="Verify").click()
    verdict = page.locator('[data-verdict="invalid"]')
    verdict.wait_for()
    assert reason in verdict.inner_text()


PAGES = ["/app/", "/app/leaderboards", "/app/marketplace", "/app/plans", "/app/enterprise",
         "/app/audit", "/problems/insufficient-funds"]  # fmt: skip


def test_no_page_has_a_serious_accessibility_violation(tab: Tab, site: Site) -> None:
    assert AXE.exists(), "axe-core is missing: npm ci"
    source = AXE.read_text(encoding="utf-8")
    found = {}
    for path in PAGES:
        page = tab.open(path, user="ada" if path.startswith("/app") else None)
        page.wait_for_load_state("networkidle")
        page.evaluate(source)  # through the driver: the page's CSP allows no inline script
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [
            f"{v['id']}: {v['help']} ({len(v['nodes'])})"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if serious:
            found[path] = serious
    assert found == {}


def test_the_pages_merkle_code_agrees_with_the_ledgers(tab: Tab) -> None:
    """The browser's walk against the server's reference tree, every (index, size) up to
    20 leaves: the same root; one byte flipped: another root. (The tree size itself is
    pinned by the chain's anchorAt, not by the path: RFC 9162 proofs do not fix it.)"""
    from ledger.merkle import MemoryTree, leaf_hash

    tree = MemoryTree()
    tree.extend(leaf_hash(f"leaf {i}".encode()) for i in range(20))
    cases: list[dict[str, Any]] = [
        {
            "leaf": f"leaf {i}",
            "index": i,
            "size": n,
            "proof": ["0x" + p.hex() for p in tree.inclusion_proof(i, n)],
            "root": "0x" + tree.root(n).hex(),
        }
        for n in range(1, 21)
        for i in range(n)
    ]
    page = tab.open("/app/audit")
    results = page.evaluate(
        """async (cases) => {
          const { leafHash, walkInclusion } = await import("/app/assets/merkle.js");
          const { fromHex, toHex } = await import("/app/assets/hex.js");
          return cases.map((c) => {
            const path = c.proof.map((h) => fromHex(h, 32));
            const good = walkInclusion(c.index, c.size, leafHash(c.leaf), path);
            const flipped = path.map((h) => h.slice());
            if (flipped.length) flipped[0][31] ^= 1;
            const bad = walkInclusion(c.index, c.size, leafHash(c.leaf), flipped);
            const beyond = walkInclusion(c.size, c.size, leafHash(c.leaf), path);
            return [good.root && toHex(good.root), bad.root && toHex(bad.root),
                    beyond.root, good.steps.length];
          });
        }""",
        cases,
    )
    for case, (good, bad, beyond, steps) in zip(cases, results, strict=True):
        where = f"leaf {case['index']} of {case['size']}"
        assert good == case["root"], where
        assert steps == len(case["proof"]), where
        if case["proof"]:
            assert bad != case["root"], where
        assert beyond is None, where  # an index at the size proves nothing

#!/usr/bin/env python3
"""The admin UI in a real browser (issue 7): headless Chromium, driven with Selenium.

Generates a small reference data set, loads it into a fresh database, serves it, then signs in, checks
the overview's counts, creates the reference segment through the editor (preview first), waits for its
membership, explains a member, runs a funnel, exports the segment and downloads the file, reads the
data page, and signs out. Every number the pages show is compared with one computed here independently:
from the generator's manifest, from the NDJSON files, or from the downloaded CSV. Screenshots (laptop
and phone widths) go to the artifacts directory.

    python3 .ci/browser-test.py [path/to/trove] [artifacts-dir]

Needs Debian's `chromium` and `chromium-driver` and `pip install selenium`; `.ci/run` installs them.
"""
import csv
import datetime
import io
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

TROVE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug/trove")
ARTIFACTS = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else ".build/browser-artifacts")
STARTED, COMPLETED = "Started Tour (Chameleon)", "Completed Tour (Chameleon)"
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def ms(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def number(text):
    return int(text.replace(",", "").strip())


def trove(*args):
    return subprocess.run([TROVE, *args], check=True, capture_output=True, text=True)


def expected_funnel(events_path, start, end, within_days=7):
    """The funnel's rules (FunnelReport.swift) over the raw NDJSON: entries in [start, end); a completion of
    the same tour (or of none) at or after the entry, within the window; best entry per profile and tour."""
    starts, completes = {}, {}
    with open(events_path) as f:
        for line in f:
            e = json.loads(line)
            if e["name"] == STARTED:
                starts.setdefault(e["uid"], []).append((ms(e["timestamp"]), e.get("tour_id")))
            elif e["name"] == COMPLETED:
                completes.setdefault(e["uid"], []).append((ms(e["timestamp"]), e.get("tour_id")))
    window = within_days * 86_400_000
    entered = converted = 0
    for uid, entries in starts.items():
        depth = 0
        for t0, tour in entries:
            if not (start <= t0 < end):
                continue
            depth = max(depth, 1)
            if any(t0 <= t <= t0 + window and (c == tour or c is None) for t, c in completes.get(uid, [])):
                depth = 2
        entered += depth >= 1
        converted += depth >= 2
    return entered, converted


def main():
    os.makedirs(ARTIFACTS, exist_ok=True)
    work = tempfile.mkdtemp(prefix="trove-browser-")
    data, db = os.path.join(work, "data"), os.path.join(work, "trove.sqlite")
    trove("generate", "--output", data, "--profiles", "3000", "--companies", "60", "--events", "60000")
    manifest = json.load(open(os.path.join(data, "manifest.json")))
    now = manifest["now"]
    secret = json.loads(trove("accounts", "create", "default", "--database", db, "--json").stdout)["account_secret"]
    for model in ["companies", "profiles", "events"]:
        trove("import", "--database", db, "--now", now, "--model", model, os.path.join(data, f"{model}.ndjson"))
    names = set()
    with open(os.path.join(data, "events.ndjson")) as f:
        for line in f:
            names.add(json.loads(line)["name"])

    # A free port chosen here, so the links the server hands out (export downloads) name it.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    log = open(os.path.join(work, "serve.log"), "w+")
    server = subprocess.Popen([TROVE, "serve", "--database", db, "--port", str(port), "--now", now], stdout=subprocess.DEVNULL, stderr=log)
    options = webdriver.ChromeOptions()
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"]:
        options.add_argument(flag)
    driver = None
    try:
        for _ in range(300):
            log.seek(0)
            if "Trove serving" in log.read():
                break
            time.sleep(0.1)
        else:
            raise SystemExit("trove serve did not start")
        base = f"http://127.0.0.1:{port}"
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        driver.set_page_load_timeout(60)

        def shot(name):
            driver.save_screenshot(os.path.join(ARTIFACTS, f"{name}.png"))

        def wait_for(condition, what, seconds=20):
            deadline = time.time() + seconds
            while time.time() < deadline:
                try:
                    if condition():
                        return True
                except WebDriverException:  # the page was replaced while being read: look again
                    pass
                time.sleep(0.1)
            check(False, f"waited {seconds} s for {what}")
            return False

        def cards():
            return {c.find_element(By.CLASS_NAME, "k").text: c.find_element(By.CLASS_NAME, "v").text
                    for c in driver.find_elements(By.CLASS_NAME, "card")}

        # Sign in.
        driver.get(base + "/admin")
        check(driver.current_url.endswith("/admin/login"), "signed out, /admin sends the browser to the sign-in page")
        shot("01-sign-in")
        driver.find_element(By.NAME, "account_secret").send_keys("not-the-secret")
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        check(wait_for(lambda: "not an account secret" in driver.page_source, "the refusal"), "a wrong secret is refused")
        driver.find_element(By.NAME, "account_secret").send_keys(secret)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(lambda: driver.current_url.rstrip("/").endswith("/admin"), "the overview")
        cookie = driver.get_cookie("trove_admin")
        check(cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict", "session cookie is HttpOnly, SameSite=Strict")

        # Overview: the data set's sizes.
        c = cards()
        check(number(c.get("profiles", "0")) == manifest["profiles"], f"overview profiles {c.get('profiles')} = {manifest['profiles']}")
        check(number(c.get("events", "0")) == manifest["events"], f"overview events {c.get('events')} = {manifest['events']}")
        check(number(c.get("companies", "0")) == manifest["companies"], f"overview companies {c.get('companies')} = {manifest['companies']}")
        check(len(driver.find_elements(By.CSS_SELECTOR, "main svg polyline")) >= 1, "overview draws the events chart")
        shot("02-overview")
        driver.set_window_size(390, 844)
        driver.get(base + "/admin")
        overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        check(overflow <= 0, f"phone width: the page does not scroll sideways (overflow {overflow}px)")
        shot("02-overview-phone")
        driver.set_window_size(1280, 900)

        # Data management: every event name of the data set.
        driver.get(base + "/admin/data")
        rows = driver.find_elements(By.CSS_SELECTOR, "main .scroll")[0].find_elements(By.CSS_SELECTOR, "tbody tr")
        check(len(rows) == len(names), f"data page lists {len(rows)} event names = {len(names)} in the NDJSON")
        shot("03-data")

        # The reference segment through the editor: preview, then create.
        driver.get(base + "/admin/segments/new")
        driver.find_element(By.NAME, "name").send_keys("Reference segment")
        for i, (prop, op, value) in enumerate([("upsell_readiness_score", "gte", "80"), ("plan", "eq", "pro"), ("company.employees", "gt", "50")]):
            driver.find_element(By.NAME, f"prop{i}").send_keys(prop)
            Select(driver.find_element(By.NAME, f"op{i}")).select_by_value(op)
            driver.find_element(By.NAME, f"value{i}").send_keys(value)
        driver.find_element(By.NAME, "event").send_keys(COMPLETED)
        driver.find_element(By.NAME, "times").clear()
        driver.find_element(By.NAME, "times").send_keys("2")
        driver.find_element(By.NAME, "days").send_keys("30")
        driver.find_element(By.CSS_SELECTOR, "button[value=preview]").click()
        wait_for(lambda: "would match" in driver.page_source, "the preview")
        expected = manifest["expected_reference_segment_members"]
        previewed = number(cards().get("would match", "-1"))
        check(previewed == expected, f"preview: {previewed} would match = the generator's {expected}")
        sample = re.search(r"Sample: ([^<]+)</p>", driver.page_source)
        member = sample.group(1).split(", ")[0] if sample else ""
        shot("04-segment-preview")
        driver.find_element(By.CSS_SELECTOR, "button[value=save]").click()
        wait_for(lambda: "/admin/segments/0" in driver.current_url, "the new segment's page")
        segment_url = driver.current_url.split("?")[0]
        check("/admin/segments/" in segment_url, "create goes to the segment's page")
        members = -1
        for _ in range(100):
            c = cards()
            members = number(c.get("members", "-1"))
            if c.get("state") == "ready" and members == expected:
                break
            time.sleep(0.2)
            driver.get(segment_url)
        check(members == expected, f"segment page: {members} members once built = {expected}")
        check(len(driver.find_elements(By.CSS_SELECTOR, "main svg polyline")) == 3, "size history chart: members, entered, exited")
        shot("05-segment")
        driver.find_element(By.NAME, "uid").send_keys(member)
        driver.find_element(By.CSS_SELECTOR, "form[method=get] button").click()
        wait_for(lambda: "a member" in driver.find_element(By.TAG_NAME, "main").text, "the explanation")
        check("is a member" in driver.find_element(By.TAG_NAME, "main").text, f"explain {member}: a member")
        rows = driver.find_elements(By.CSS_SELECTOR, "main .box .scroll tbody tr")
        check(len(rows) == 4 and all("true" in r.text for r in rows), "explain: four conditions, each true")
        shot("06-explain")
        driver.get(base + "/admin/segments")
        check("Reference segment" in driver.page_source, "segments list shows it")
        shot("07-segments")

        # Funnel report against the NDJSON.
        start, end = "2025-12-01", "2026-02-28"
        want = expected_funnel(os.path.join(data, "events.ndjson"), ms(start + "T00:00:00Z"), ms("2026-03-01T00:00:00Z"))
        driver.get(base + "/admin/reports")
        driver.find_element(By.NAME, "steps").send_keys(f"{STARTED}, {COMPLETED}")
        driver.find_element(By.NAME, "group_by").send_keys("tour_id")
        for name, value in [("ffrom", start), ("fto", end)]:  # date inputs: set the value, whatever the locale's format
            driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.NAME, name), value)
        driver.find_element(By.CSS_SELECTOR, "form[action='/admin/reports#funnel'] button").click()
        # A first funnel answers "building" while its step lists are built, and the page says it reloads itself
        # (a meta refresh, which the automated browser may not follow): reload it as a reader would.
        last_reload = [time.time()]

        def funnel_shown():
            if driver.find_elements(By.ID, "funnel-building") and time.time() - last_reload[0] > 2:
                last_reload[0] = time.time()
                driver.refresh()
            return len(driver.find_elements(By.CSS_SELECTOR, "#funnel + .box table tbody tr")) > 0

        wait_for(funnel_shown, "the funnel", seconds=60)
        table = driver.find_elements(By.CSS_SELECTOR, "#funnel + .box table tbody tr")
        got = tuple(number(td.text) for td in table[0].find_elements(By.TAG_NAME, "td")[1:3]) if table else None
        check(got == want, f"funnel all: {got} = {want} computed from the NDJSON ({start}…{end}, within 7 days, by tour_id)")
        check(len(driver.find_elements(By.CSS_SELECTOR, "#funnel + .box svg rect")) == 2, "funnel bars drawn")
        shot("08-reports")

        # Export the segment and download the file.
        driver.get(segment_url)
        driver.find_element(By.LINK_TEXT, "Export its members").click()
        wait_for(lambda: "/admin/exports" in driver.current_url, "the exports page")
        driver.find_element(By.NAME, "attributes").send_keys("plan, upsell_readiness_score")
        driver.find_element(By.CSS_SELECTOR, "form.stack button").click()
        wait_for(lambda: "queued" in driver.page_source, "the export to be queued")
        link = None
        for _ in range(100):
            links = driver.find_elements(By.LINK_TEXT, "download")
            if links:
                link = links[0].get_attribute("href")
                break
            time.sleep(0.2)
            driver.get(base + "/admin/exports")
        shot("09-exports")
        check(link is not None, "export finished with a download link")
        if link:
            body = urllib.request.urlopen(link).read().decode()
            rows = list(csv.reader(io.StringIO(body)))
            check(len(rows) - 1 == expected and all(r[rows[0].index("plan")] == "pro" for r in rows[1:]),
                  f"downloaded CSV: {len(rows) - 1} rows = {expected}, every one plan pro")

        driver.get(base + "/admin/delivery")
        check("Webhook endpoints" in driver.page_source, "delivery page renders")
        shot("10-delivery")

        driver.find_element(By.CSS_SELECTOR, "header form button").click()
        wait_for(lambda: driver.current_url.endswith("/admin/login"), "the sign-in page after signing out")
        driver.get(base + "/admin")
        check(driver.current_url.endswith("/admin/login"), "signed out: back to the sign-in page")
    finally:
        if driver:
            driver.quit()
        server.terminate()
        server.wait(30)
    print(f"screenshots in {ARTIFACTS}")
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all browser checks passed")


if __name__ == "__main__":
    main()

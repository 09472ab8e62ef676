"""Discovery as a script would do it with curl: from the base URL alone to the calendars."""

import re
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")

PROPFIND = (
    '<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop>'
    "<d:current-user-principal/><c:calendar-home-set/><d:resourcetype/><d:displayname/></d:prop></d:propfind>"
)


def curl(server, account, method: str, path: str, *, depth: str = "0", follow: bool = False) -> tuple[int, str]:
    command = ["curl", "-s", "-u", f"{account['username']}:{account['password']}", "-X", method]
    command += ["-H", f"Depth: {depth}", "-H", "Content-Type: application/xml", "--data", PROPFIND]
    command += ["-w", "\n%{http_code}"] + (["-L", "--post301"] if follow else []) + [server.url + path]
    output = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    body, _, code = output.rpartition("\n")
    return int(code), body


def test_curl_discovers_the_calendars_from_the_base_url(dav_server):
    account = dav_server.account("curl")
    code, _ = curl(dav_server, account, "PROPFIND", "/.well-known/caldav")
    assert code == 301
    code, body = curl(dav_server, account, "PROPFIND", "/.well-known/caldav", follow=True)
    assert code == 207
    principal = re.search(r"<D:current-user-principal><D:href>([^<]+)</D:href>", body).group(1)
    code, body = curl(dav_server, account, "PROPFIND", principal)
    home = re.search(r"<C:calendar-home-set><D:href>([^<]+)</D:href>", body).group(1)
    code, body = curl(dav_server, account, "PROPFIND", home, depth="1")
    assert code == 207
    assert body.count("<C:calendar />") + body.count("<C:calendar/>") == 2, body

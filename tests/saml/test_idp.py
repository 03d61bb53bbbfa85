"""Self-test of the test IdP (tests/saml/idp.py): run with the venv's python,

    make saml-venv && ~/.cache/tandem-saml-venv/bin/python -m pytest -q tests/saml

(or `python tests/saml/test_idp.py`). Starts idp.py, checks the genuine responses with the xmlsec1
binary against the right and the wrong certificates, that every forgery differs from the genuine
response in the way it should, and the browser flows (SP-initiated with a real deflated
AuthnRequest, IdP-initiated, key rollover) by posting the pages' forms.
"""

import base64
import copy
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from html.parser import HTMLParser

import pytest
from lxml import etree

HERE = os.path.dirname(os.path.abspath(__file__))
NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
}
RESPONSE_NODE = "urn:oasis:names:tc:SAML:2.0:protocol:Response"
ASSERTION_NODE = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")
ATTACKER = "attacker@evil.example"
SP_ENTITY = "http://127.0.0.1:9/api/1/saml/acct1/metadata"
SP_ACS = "http://127.0.0.1:9/api/1/saml/acct1/acs"
SP_ACS_2 = "http://127.0.0.1:9/api/1/saml/acct1/acs-other"
SP_METADATA = f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{SP_ENTITY}">
  <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true"
      protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="{SP_ACS_2}" index="1"/>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="{SP_ACS}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"""


# ---- the IdP process ---------------------------------------------------------------------------

def start_idp(directory):
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "idp.py"), "--port", "0", "--dir", directory],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("READY http://127.0.0.1:"), line
    return proc, line.split(" ", 1)[1]


@pytest.fixture(scope="module")
def idp():
    with tempfile.TemporaryDirectory() as directory:
        started = time.monotonic()
        proc, base = start_idp(directory)
        assert time.monotonic() - started < 5, "startup is slow"
        yield {"base": base, "dir": directory}
        proc.stdin.close()  # the IdP exits when its stdin closes
        assert proc.wait(timeout=5) == 0


def request(url, data=None, form=None):
    """(status, body) of a GET, or a POST of JSON (data) or of a form (form)."""
    headers = {}
    if data is not None:
        data, headers = json.dumps(data).encode(), {"Content-Type": "application/json"}
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers)) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def post_json(idp, path, body):
    status, text = request(idp["base"] + path, data=body)
    assert status == 200, text
    return json.loads(text)


def mint(idp, **fields):
    fields.setdefault("acs", SP_ACS)
    fields.setdefault("audience", SP_ENTITY)
    out = post_json(idp, "/mint", fields)
    assert base64.b64decode(out["SAMLResponse"]).decode() == out["xml"]
    return out["xml"]


def verify(idp, xml, key, node=RESPONSE_NODE, node_id=None):
    """Does xmlsec1 verify the signature (the first one under node_id, else the root's) with <key>.pem?
    The certificate in KeyInfo is not trusted (raw-x509-cert only), as pysaml2 checks too."""
    with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
        f.write(xml)
        f.flush()
        cmd = ["xmlsec1", "--verify", "--enabled-reference-uris", "empty,same-doc",
               "--enabled-key-data", "raw-x509-cert", "--id-attr:ID", node,
               "--pubkey-cert-pem", os.path.join(idp["dir"], f"{key}.pem")]
        if node_id:
            cmd += ["--node-id", node_id]
        return subprocess.run(cmd + [f.name], capture_output=True).returncode == 0


def digest_of_referenced(xml):
    """For the one ds:Signature in xml: does the DigestValue match the element its Reference names,
    taken as most verifiers take it (that element's subtree, without its own enveloped signature,
    exclusive c14n)? True for every XSW variant: the genuinely signed element is intact."""
    r = parse(xml)
    sig = one(r, "//ds:Signature")
    ref_id = one(sig, ".//ds:Reference").get("URI")[1:]
    el = copy.deepcopy(one(r, f"//*[@ID='{ref_id}']"))
    own = el.find("ds:Signature", NS)
    if own is not None:
        el.remove(own)
    c14n = etree.tostring(el, method="c14n", exclusive=True, with_comments=False)
    return base64.b64encode(hashlib.sha256(c14n).digest()).decode() == text(sig, ".//ds:DigestValue")


def parse(xml):
    return etree.fromstring(xml.encode(), etree.XMLParser(resolve_entities=False, no_network=True))


def one(el, path):
    found = el.xpath(path, namespaces=NS)
    assert len(found) == 1, (path, found)
    return found[0]


def text(el, path):
    return one(el, path).text


# ---- HTML forms --------------------------------------------------------------------------------

class Page(HTMLParser):
    """The forms of a page: action, inputs (name → value, hidden or not), labels and buttons."""

    def __init__(self, html):
        super().__init__()
        self.forms, self.labels, self.buttons, self.text, self.scripts = [], {}, [], "", ""
        self._label = self._button = self._script = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "method": a.get("method"), "inputs": {}})
        elif tag == "input":
            self.forms[-1]["inputs"][a["name"]] = {"value": a.get("value", ""), "type": a.get("type", "text"),
                                                   "id": a.get("id")}
        elif tag == "label":
            self._label = [a.get("for"), ""]
        elif tag == "button":
            self._button = ""
        elif tag == "script":
            self._script = ""

    def handle_endtag(self, tag):
        if tag == "label":
            self.labels[self._label[1].strip()] = self._label[0]
            self._label = None
        elif tag == "button":
            self.buttons.append(self._button.strip())
            self._button = None
        elif tag == "script":
            self.scripts += self._script
            self._script = None

    def handle_data(self, data):
        self.text += data
        if self._label is not None:
            self._label[1] += data
        if self._button is not None:
            self._button += data
        if self._script is not None:
            self._script += data

    def values(self, form=0):
        return {k: v["value"] for k, v in self.forms[form]["inputs"].items()}


def authn_request(idp, req_id, acs=SP_ACS, issuer=SP_ENTITY):
    """A deflated AuthnRequest for the HTTP-Redirect binding, as an SP sends it."""
    acs_attr = f' AssertionConsumerServiceURL="{acs}"' if acs else ""
    xml = (f'<samlp:AuthnRequest xmlns:samlp="{NS["samlp"]}" xmlns:saml="{NS["saml"]}" ID="{req_id}"'
           f' Version="2.0" IssueInstant="{time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}"'
           f' Destination="{idp["base"]}/sso"{acs_attr}'
           f' ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">'
           f'<saml:Issuer>{issuer}</saml:Issuer>'
           f'<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/>'
           f'</samlp:AuthnRequest>')
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = deflate.compress(xml.encode()) + deflate.flush()
    return base64.b64encode(raw).decode()


@pytest.fixture(scope="module")
def sp(idp):
    out = post_json(idp, "/sp", {"metadata": SP_METADATA})
    assert out["entity_ids"] == [SP_ENTITY]
    assert out["acs"][SP_ENTITY] == [SP_ACS, SP_ACS_2]
    post_json(idp, "/users", {"username": "ann", "password": "pw-ann", "email": "ann@shop.example",
                              "name": "Ann Example", "groups": ["support-leads", "staff"]})
    return SP_ENTITY


def sign_in(idp, page_html, username="ann", password="pw-ann"):
    page = Page(page_html)
    assert page.labels.get("Username") == "username" and page.labels.get("Password") == "password"
    assert page.buttons == ["Sign in"]
    assert page.forms[0]["action"] == "/login" and page.forms[0]["method"] == "post"
    form = page.values()
    form.update(username=username, password=password)
    return request(idp["base"] + "/login", form=form)


def posted(html):
    """The auto-posting form: (action, fields)."""
    page = Page(html)
    assert page.buttons == ["Continue"]
    assert "submit()" in page.scripts
    assert page.forms[0]["method"] == "post"
    return page.forms[0]["action"], page.values()


# ---- process and static endpoints --------------------------------------------------------------

def test_metadata_and_certs(idp):
    assert request(idp["base"] + "/healthz")[0] == 200
    certs = json.loads(request(idp["base"] + "/certs")[1])
    assert sorted(certs) == ["a", "b", "foreign"] and len(set(certs.values())) == 3
    for name, pem in certs.items():
        assert pem.startswith("-----BEGIN CERTIFICATE-----")
        assert open(os.path.join(idp["dir"], f"{name}.pem")).read() == pem
        assert os.path.exists(os.path.join(idp["dir"], f"{name}.key"))
    md = parse(request(idp["base"] + "/metadata")[1])
    assert md.get("entityID") == idp["base"] + "/metadata"
    sso = one(md, "//md:IDPSSODescriptor/md:SingleSignOnService")
    assert sso.get("Location") == idp["base"] + "/sso"
    assert sso.get("Binding") == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
    cert = text(md, "//md:KeyDescriptor[@use='signing']//ds:X509Certificate")
    assert cert in certs["a"].replace("\n", "")


def test_sp_registration_refuses_bad_metadata(idp):
    no_post_acs = SP_METADATA.replace(SP_ENTITY, "http://other.example/sp").replace(
        "bindings:HTTP-POST", "bindings:HTTP-Artifact")
    for metadata in ("not xml", "<a/>", no_post_acs):
        status, text_ = request(idp["base"] + "/sp", data={"metadata": metadata})
        assert status == 400 and json.loads(text_)["error"], metadata
    assert request(idp["base"] + "/idp-initiated?sp=http://other.example/sp")[0] == 400


def test_process_exits_on_stdin_close_and_sigterm():
    with tempfile.TemporaryDirectory() as d:
        proc, _ = start_idp(d)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=5)
        proc.stdin.close()
        proc, _ = start_idp(d)
        proc.stdin.close()
        proc.wait(timeout=5)


# ---- genuine responses -------------------------------------------------------------------------

def test_genuine_response(idp):
    xml = mint(idp, in_response_to="_req1", name="Ann Example", groups=["g1", "g2"])
    r = parse(xml)
    a = one(r, "/samlp:Response/saml:Assertion")
    assert verify(idp, xml, "a")
    assert verify(idp, xml, "a", ASSERTION_NODE, a.get("ID"))
    assert not verify(idp, xml, "b") and not verify(idp, xml, "foreign")
    assert not verify(idp, xml, "foreign", ASSERTION_NODE, a.get("ID"))
    for sig in r.iter("{%s}Signature" % NS["ds"]):
        assert one(sig, "ds:SignedInfo/ds:SignatureMethod").get("Algorithm").endswith("#rsa-sha256")
        assert one(sig, ".//ds:DigestMethod").get("Algorithm") == "http://www.w3.org/2001/04/xmlenc#sha256"
        assert one(sig, "ds:SignedInfo/ds:CanonicalizationMethod").get("Algorithm") == \
            "http://www.w3.org/2001/10/xml-exc-c14n#"
    assert NCNAME.match(r.get("ID")) and NCNAME.match(a.get("ID")) and r.get("ID") != a.get("ID")
    assert r.get("Destination") == SP_ACS and r.get("InResponseTo") == "_req1"
    assert text(r, "saml:Issuer") == idp["base"] + "/metadata" == text(a, "saml:Issuer")
    nameid = one(a, "saml:Subject/saml:NameID")
    assert nameid.text == "ann@shop.example"
    assert nameid.get("Format") == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    scd = one(a, "saml:Subject/saml:SubjectConfirmation[@Method='urn:oasis:names:tc:SAML:2.0:cm:bearer']"
                 "/saml:SubjectConfirmationData")
    assert scd.get("Recipient") == SP_ACS and scd.get("InResponseTo") == "_req1"
    assert text(a, "saml:Conditions/saml:AudienceRestriction/saml:Audience") == SP_ENTITY
    values = lambda name: [v.text for v in a.xpath(f"//saml:Attribute[@Name='{name}']/saml:AttributeValue",
                                                   namespaces=NS)]
    assert values("email") == ["ann@shop.example"]
    assert values("displayName") == ["Ann Example"]
    assert values("groups") == ["g1", "g2"]

    unsolicited = parse(mint(idp))
    assert unsolicited.get("InResponseTo") is None
    assert one(unsolicited, "//saml:SubjectConfirmationData").get("InResponseTo") is None


def test_sign_modes_keys_and_sha1(idp):
    def sigs(xml):
        r = parse(xml)
        a = one(r, "saml:Assertion")
        return r.find("ds:Signature", NS) is not None, a.find("ds:Signature", NS) is not None, a.get("ID")

    xml = mint(idp, sign="assertion")
    assert sigs(xml)[:2] == (False, True)
    assert verify(idp, xml, "a", ASSERTION_NODE, sigs(xml)[2])
    xml = mint(idp, sign="response")
    assert sigs(xml)[:2] == (True, False) and verify(idp, xml, "a")
    xml = mint(idp, sign="none")
    assert "Signature" not in xml
    xml = mint(idp, key="foreign")
    assert verify(idp, xml, "foreign") and not verify(idp, xml, "a") and not verify(idp, xml, "b")
    xml = mint(idp, key="b")
    assert verify(idp, xml, "b") and not verify(idp, xml, "a")
    xml = mint(idp, algorithm="rsa-sha1")
    assert verify(idp, xml, "a") and verify(idp, xml, "a", ASSERTION_NODE, sigs(xml)[2])
    assert "xmldsig#rsa-sha1" in xml and "xmldsig#sha1" in xml and "sha256" not in xml


def test_overrides_and_times(idp):
    xml = mint(idp, issuer="http://other.example/idp", destination="http://x.example/acs",
               recipient="http://y.example/acs", audience="http://z.example/sp",
               assertion_id="_fixed_assertion", response_id="_fixed_response",
               not_before=-3600, not_on_or_after=-1800, confirmation_not_on_or_after=-1700)
    assert verify(idp, xml, "a")
    r = parse(xml)
    assert r.get("ID") == "_fixed_response" and r.get("Destination") == "http://x.example/acs"
    a = one(r, "saml:Assertion")
    assert a.get("ID") == "_fixed_assertion"
    assert text(r, "saml:Issuer") == text(a, "saml:Issuer") == "http://other.example/idp"
    assert one(a, "//saml:SubjectConfirmationData").get("Recipient") == "http://y.example/acs"
    assert text(a, "//saml:Audience") == "http://z.example/sp"
    now = time.time()

    def ts(s):
        return time.mktime(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone

    cond = one(a, "saml:Conditions")
    assert abs(ts(cond.get("NotBefore")) - (now - 3600)) < 10
    assert abs(ts(cond.get("NotOnOrAfter")) - (now - 1800)) < 10
    assert abs(ts(one(a, "//saml:SubjectConfirmationData").get("NotOnOrAfter")) - (now - 1700)) < 10


def test_mint_refuses_bad_input(idp):
    for body in ({"audience": SP_ENTITY}, {"acs": SP_ACS}, {"acs": SP_ACS, "audience": SP_ENTITY, "sing": "x"},
                 {"acs": SP_ACS, "audience": SP_ENTITY, "forge": "xsw9"},
                 {"acs": SP_ACS, "audience": SP_ENTITY, "sign": "assertion", "forge": "xsw1"},
                 {"acs": SP_ACS, "audience": SP_ENTITY, "sign": "response", "forge": "xsw3"}):
        status, text_ = request(idp["base"] + "/mint", data=body)
        assert status == 400 and json.loads(text_)["error"], body


# ---- forgeries ---------------------------------------------------------------------------------

def nameid(el):
    return "".join(one(el, "saml:Subject/saml:NameID").itertext())


def direct_assertion(r):
    return r.xpath("saml:Assertion", namespaces=NS)[0]


@pytest.mark.parametrize("variant", ["xsw1", "xsw2"])
def test_response_wrapping(idp, variant):
    genuine = mint(idp, sign="response")
    g = parse(genuine)
    xml = mint(idp, sign="response", forge=variant, response_id=g.get("ID"),
               assertion_id=direct_assertion(g).get("ID"))
    r = parse(xml)
    # The root is the attacker's: a fresh ID, the attacker's email, the genuine signature.
    assert r.get("ID") != g.get("ID") and NCNAME.match(r.get("ID"))
    assert nameid(direct_assertion(r)) == ATTACKER
    sig = one(r, "ds:Signature")
    assert one(sig, ".//ds:Reference").get("URI") == "#" + g.get("ID")
    # The genuine Response, hidden where the variant puts it, still satisfies the signature.
    hidden = one(sig if variant == "xsw1" else r, "samlp:Response")
    assert hidden.get("ID") == g.get("ID") and nameid(direct_assertion(hidden)) == "ann@shop.example"
    if variant == "xsw2":
        assert hidden.getnext() is sig
    assert digest_of_referenced(xml)
    # xmlsec1 applies the enveloped-signature transform as XPath defines it (everything inside the
    # ds:Signature is dropped), so a copy hidden inside the signature (XSW1) fails there.
    assert verify(idp, xml, "a") == (variant == "xsw2")


@pytest.mark.parametrize("variant", ["xsw3", "xsw4", "xsw5", "xsw6", "xsw7", "xsw8"])
def test_assertion_wrapping(idp, variant):
    xml = mint(idp, sign="assertion", forge=variant, assertion_id="_genuine")
    r = parse(xml)
    assertions = r.xpath("//saml:Assertion", namespaces=NS)
    assert len(assertions) == 2
    genuine = one(r, "//saml:Assertion[@ID='_genuine']")
    evil = next(a for a in assertions if a is not genuine)
    assert nameid(genuine) == "ann@shop.example" and nameid(evil) == ATTACKER
    assert NCNAME.match(evil.get("ID")) and evil.get("ID") != "_genuine"
    parent = genuine.getparent()
    if variant == "xsw3":    # the unsigned evil assertion before the signed genuine one
        assert parent is r and evil.getnext() is genuine and evil.find("ds:Signature", NS) is None
    elif variant == "xsw4":  # the genuine signed assertion inside the unsigned evil one
        assert parent is evil and evil.getparent() is r and evil.find("ds:Signature", NS) is None
    elif variant == "xsw5":  # evil in place with the signature, unsigned genuine at the end
        assert parent is r and r[-1] is genuine and genuine.find("ds:Signature", NS) is None
        assert evil.find("ds:Signature", NS) is not None
    elif variant == "xsw6":  # evil in place, the genuine inside its ds:Signature
        assert parent is evil.find("ds:Signature", NS)
    elif variant == "xsw7":  # evil in samlp:Extensions, genuine signed in place
        assert parent is r and evil.getparent().tag == "{%s}Extensions" % NS["samlp"]
        assert genuine.find("ds:Signature", NS) is not None
    elif variant == "xsw8":  # evil in place, genuine in a ds:Object of its ds:Signature
        assert parent.tag == "{%s}Object" % NS["ds"] and parent.getparent() is evil.find("ds:Signature", NS)
    # The one signature is the genuine one, and its digest still matches the genuine assertion
    # wherever the variant hid it; xmlsec1 verifies it unless the copy sits inside the ds:Signature
    # (XSW6, XSW8), which its enveloped-signature transform drops.
    sig = one(r, "//ds:Signature")
    assert one(sig, ".//ds:Reference").get("URI") == "#_genuine"
    assert digest_of_referenced(xml)
    assert verify(idp, xml, "a", ASSERTION_NODE, sig.getparent().get("ID")) == (variant not in ("xsw6", "xsw8"))


def test_comment_in_nameid(idp):
    xml = mint(idp, forge="comment_in_nameid")
    assert "ann@shop.example<!---->.evil.example</saml:NameID>" in xml
    a = direct_assertion(parse(xml))
    node = one(a, "saml:Subject/saml:NameID")
    assert node.text == "ann@shop.example"  # what a naive reader sees
    assert nameid(a) == "ann@shop.example.evil.example"  # what is signed
    assert verify(idp, xml, "a") and verify(idp, xml, "a", ASSERTION_NODE, a.get("ID"))


def test_other_forgeries(idp):
    xml = mint(idp, forge="signature_removed")
    assert "Signature" not in xml and nameid(direct_assertion(parse(xml))) == "ann@shop.example"

    xml = mint(idp, forge="two_assertions")
    r = parse(xml)
    first, second = r.xpath("saml:Assertion", namespaces=NS)
    assert nameid(first) == "ann@shop.example" and nameid(second) == ATTACKER
    assert second.find("ds:Signature", NS) is None and second.get("ID") != first.get("ID")
    # The appended assertion is inside the signed Response, so that signature breaks; the genuine
    # assertion's own still verifies. Minted with sign "assertion", nothing fails to verify.
    assert not verify(idp, xml, "a") and verify(idp, xml, "a", ASSERTION_NODE, first.get("ID"))
    xml = mint(idp, forge="two_assertions", sign="assertion", assertion_id="_one")
    assert verify(idp, xml, "a", ASSERTION_NODE, "_one")


def test_doctype_and_entity_bomb(idp):
    xml = mint(idp, forge="doctype")
    assert re.search(r"^<\?xml[^>]*\?>\s*<!DOCTYPE samlp:Response \[<!ENTITY ", xml)
    assert verify(idp, xml, "a")  # only refusing the DTD catches it

    xml = mint(idp, forge="entity_bomb")
    assert "<!ENTITY lol9 \"&lol8;&lol8;" in xml and ">&lol9;</saml:NameID>" in xml
    # libxml2's own guard refuses the expansion even with entities left unresolved.
    with pytest.raises(etree.XMLSyntaxError, match="amplification"):
        parse(xml)


# ---- browser flows -----------------------------------------------------------------------------

def test_sso_login_flow(idp, sp):
    status, html = request(idp["base"] + "/sso?" + urllib.parse.urlencode(
        {"SAMLRequest": authn_request(idp, "_req-flow-1"), "RelayState": "rs-123"}))
    assert status == 200, html
    status, again = sign_in(idp, html, password="wrong")
    assert status == 401 and "Wrong username or password" in again
    status, out = sign_in(idp, again)
    assert status == 200, out
    action, fields = posted(out)
    assert action == SP_ACS and fields["RelayState"] == "rs-123"
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert verify(idp, xml, "a") and not verify(idp, xml, "b")
    r = parse(xml)
    a = direct_assertion(r)
    assert verify(idp, xml, "a", ASSERTION_NODE, a.get("ID"))
    assert r.get("InResponseTo") == "_req-flow-1" and r.get("Destination") == SP_ACS
    scd = one(a, "//saml:SubjectConfirmationData")
    assert scd.get("InResponseTo") == "_req-flow-1" and scd.get("Recipient") == SP_ACS
    assert text(a, "//saml:Audience") == SP_ENTITY and nameid(a) == "ann@shop.example"
    groups = [v.text for v in a.xpath("//saml:Attribute[@Name='groups']/saml:AttributeValue", namespaces=NS)]
    assert groups == ["support-leads", "staff"]
    assert text(a, "//saml:Attribute[@Name='displayName']/saml:AttributeValue") == "Ann Example"


def test_sso_picks_the_acs(idp, sp):
    # No AssertionConsumerServiceURL: the metadata's default ACS; a listed one: that one.
    for acs, expected in ((None, SP_ACS), (SP_ACS_2, SP_ACS_2)):
        _, html = request(idp["base"] + "/sso?" + urllib.parse.urlencode(
            {"SAMLRequest": authn_request(idp, "_req-acs", acs=acs)}))
        status, out = sign_in(idp, html)
        action, fields = posted(out)
        assert action == expected and "RelayState" not in fields
    # An ACS that is not in the metadata, or an SP that was never registered: refused.
    for args in ({"acs": "http://evil.example/acs"}, {"issuer": "http://unknown.example/sp"}):
        status, html = request(idp["base"] + "/sso?" + urllib.parse.urlencode(
            {"SAMLRequest": authn_request(idp, "_req-bad", **args)}))
        assert status == 400, html


def test_key_rollover(idp, sp):
    try:
        post_json(idp, "/settings", {"active_key": "b"})
        certs = json.loads(request(idp["base"] + "/certs")[1])
        md = parse(request(idp["base"] + "/metadata")[1])
        assert text(md, "//md:KeyDescriptor[@use='signing']//ds:X509Certificate") in certs["b"].replace("\n", "")
        _, html = request(idp["base"] + "/sso?" + urllib.parse.urlencode(
            {"SAMLRequest": authn_request(idp, "_req-b")}))
        _, fields = posted(sign_in(idp, html)[1])
        xml = base64.b64decode(fields["SAMLResponse"]).decode()
        assert verify(idp, xml, "b") and not verify(idp, xml, "a")
        assert verify(idp, mint(idp), "b")  # /mint's default key follows too
    finally:
        post_json(idp, "/settings", {"active_key": "a"})


def test_idp_initiated(idp, sp):
    status, html = request(idp["base"] + "/idp-initiated?" + urllib.parse.urlencode(
        {"sp": SP_ENTITY, "relay_state": "/dashboard/sessions"}))
    assert status == 200, html
    action, fields = posted(sign_in(idp, html)[1])
    assert action == SP_ACS and fields["RelayState"] == "/dashboard/sessions"
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    r = parse(xml)
    assert r.get("InResponseTo") is None and verify(idp, xml, "a")
    assert one(r, "//saml:SubjectConfirmationData").get("InResponseTo") is None
    assert request(idp["base"] + "/idp-initiated?sp=http://unknown.example/sp")[0] == 400


if __name__ == "__main__":
    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", __file__]))

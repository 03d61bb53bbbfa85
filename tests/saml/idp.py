#!/usr/bin/env python3
"""A SAML 2.0 Identity Provider for Tandem's single sign-on tests, built on pysaml2.

    python tests/saml/idp.py --port 0 --dir <tmpdir>

Generates three RSA-2048 keys with self-signed certificates in <tmpdir> ("a", "b" and "foreign":
<name>.key and <name>.pem), listens on 127.0.0.1 and prints `READY http://127.0.0.1:<port>` once
it serves. The entity id is `http://127.0.0.1:<port>/metadata`. It exits when its stdin closes
and on SIGTERM. Responses are real: built from pysaml2's SAML classes and signed by pysaml2 with
the xmlsec1 binary (RSA-SHA256, SHA-256 digests, exclusive c14n, enveloped signatures).

Endpoints (JSON unless said): GET /metadata (XML), GET /certs, POST /settings, POST /users,
POST /sp, GET /sso and GET /idp-initiated (HTML login page), POST /login (HTML: the auto-posting
form to the SP's ACS), POST /mint (one response, genuine or forged, without a browser),
GET /healthz. tests/saml/README.md describes each; test_idp.py is its self-test.
"""

import argparse
import base64
import copy
import datetime
import html
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import threading
import urllib.parse
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

# pysaml2 touches cryptography's deprecated CFB mode at import; keep stderr for real news.
warnings.filterwarnings("ignore", message=".*CFB has been moved")
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, saml, samlp, xmldsig
from saml2.config import IdPConfig
from saml2.mdstore import InMemoryMetaData
from saml2.metadata import entity_descriptor
from saml2.s_utils import UnknownSystemEntity
from saml2.server import Server
from saml2.sigver import pre_signature_part

log = logging.getLogger("tandem-idp")

KEY_NAMES = ("a", "b", "foreign")
ATTACKER = "attacker@evil.example"
NS = {
    "samlp": samlp.NAMESPACE,
    "saml": saml.NAMESPACE,
    "ds": xmldsig.NAMESPACE,
}
ASSERTION_NODE = f"{saml.NAMESPACE}:Assertion"
RESPONSE_NODE = f"{samlp.NAMESPACE}:Response"
ALGORITHMS = {
    "rsa-sha256": (xmldsig.SIG_RSA_SHA256, xmldsig.DIGEST_SHA256),
    "rsa-sha1": (xmldsig.SIG_RSA_SHA1, xmldsig.DIGEST_SHA1),
}
FORGES = (
    "xsw1", "xsw2", "xsw3", "xsw4", "xsw5", "xsw6", "xsw7", "xsw8",
    "comment_in_nameid", "signature_removed", "two_assertions", "doctype", "entity_bomb",
)
MINT_FIELDS = {
    "acs", "audience", "in_response_to", "email", "name", "groups", "key", "sign", "algorithm",
    "not_before", "not_on_or_after", "confirmation_not_on_or_after", "issuer", "destination",
    "recipient", "assertion_id", "response_id", "forge",
}


class BadRequest(Exception):
    """Answered as 400 with the message."""


def new_id():
    # "_" + hex: always a valid NCName (xs:ID).
    return "_" + secrets.token_hex(20)


def saml_time(seconds_from_now=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_key(directory, name):
    """An RSA-2048 key and a self-signed certificate: <dir>/<name>.key and <dir>/<name>.pem."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"tandem-test-idp-{name}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_path = os.path.join(directory, f"{name}.key")
    cert_path = os.path.join(directory, f"{name}.pem")
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    with open(cert_path, "w") as f:
        f.write(cert_pem)
    return {"key_file": key_path, "cert_file": cert_path, "pem": cert_pem}


def cert_body(pem):
    """The base64 of a PEM certificate, as X509Certificate elements carry it."""
    return "".join(line for line in pem.splitlines() if "-----" not in line)


class IdP:
    def __init__(self, base_url, directory):
        self.base = base_url
        self.entity_id = f"{base_url}/metadata"
        self.keys = {name: make_key(directory, name) for name in KEY_NAMES}
        self.configs = {name: self._config(name) for name in ("a", "b")}
        # One pysaml2 Server: it parses AuthnRequests, holds the registered SPs' metadata and
        # its security context signs (with whichever key file a response asks for).
        self.server = Server(config=self.configs["a"])
        self.active_key = "a"
        self.users = {}
        self.lock = threading.Lock()

    def _config(self, key_name):
        conf = IdPConfig()
        conf.load({
            "entityid": self.entity_id,
            "xmlsec_binary": shutil.which("xmlsec1") or "/usr/bin/xmlsec1",
            "key_file": self.keys[key_name]["key_file"],
            "cert_file": self.keys[key_name]["cert_file"],
            "metadata": {},
            "accepted_time_diff": 120,
            "service": {"idp": {
                "name": "Tandem test IdP",
                "endpoints": {"single_sign_on_service": [(f"{self.base}/sso", BINDING_HTTP_REDIRECT)]},
                "name_id_format": [saml.NAMEID_FORMAT_EMAILADDRESS],
                "want_authn_requests_signed": False,
            }},
        })
        return conf

    # ---- metadata, SPs, users -----------------------------------------------------------------

    def metadata_xml(self):
        conf = self.configs["b" if self.active_key == "b" else "a"]
        desc = entity_descriptor(conf)
        desc.extensions = None  # pysaml2's algsupport list (md5, dsa, ...): not what this IdP uses
        return desc.to_string({"md": "urn:oasis:names:tc:SAML:2.0:metadata", "ds": xmldsig.NAMESPACE})

    def register_sp(self, metadata):
        md = InMemoryMetaData(self.server.config.attribute_converters, metadata, check_validity=False)
        try:
            md.load()
        except Exception as exc:
            raise BadRequest(f"metadata: not SAML metadata ({exc})")
        entity_ids = [eid for eid in md.keys() if md[eid].get("spsso_descriptor")]
        if not entity_ids:
            raise BadRequest("metadata: no SPSSODescriptor")
        for eid in entity_ids:
            if not md.service(eid, "spsso_descriptor", "assertion_consumer_service", BINDING_HTTP_POST):
                raise BadRequest(f"metadata: {eid} has no HTTP-POST AssertionConsumerService")
        with self.lock:
            # Keyed by entity id, so registering an SP again replaces its earlier metadata.
            for eid in entity_ids:
                self.server.metadata.metadata[eid] = md
        return entity_ids

    def acs_urls(self, sp_entity_id):
        """The SP's HTTP-POST ACS locations from its metadata, the default (or lowest index) first."""
        try:
            services = self.server.metadata.assertion_consumer_service(sp_entity_id, BINDING_HTTP_POST)
        except UnknownSystemEntity:
            return []
        except Exception:  # known SP, but no HTTP-POST ACS (pysaml2 raises UnsupportedBinding)
            return []

        def order(srv):
            default = str(srv.get("is_default", "")).lower() == "true"
            return (not default, int(srv.get("index") or 0))

        return [srv["location"] for srv in sorted(services, key=order)]

    def pick_acs(self, sp_entity_id, requested=None):
        """The ACS a response goes to: the request's AssertionConsumerServiceURL when the SP's
        metadata lists it, else the metadata's default. Unknown SPs are refused."""
        urls = self.acs_urls(sp_entity_id)
        if not urls:
            raise BadRequest(f"Unknown service provider {sp_entity_id!r}: register its metadata with POST /sp")
        if requested:
            if requested not in urls:
                raise BadRequest(f"AssertionConsumerServiceURL {requested!r} is not in the metadata of {sp_entity_id!r}")
            return requested
        return urls[0]

    # ---- building and signing responses -------------------------------------------------------

    def build_response(self, *, acs, audience, email, name=None, groups=(), in_response_to=None,
                       key=None, sign="both", algorithm="rsa-sha256", not_before=-60, not_on_or_after=300,
                       confirmation_not_on_or_after=300, issuer=None, destination=None, recipient=None,
                       assertion_id=None, response_id=None):
        """A samlp:Response with one assertion, signed by pysaml2/xmlsec1. Returns the XML (str)."""
        key = key or self.active_key
        if key not in self.keys:
            raise BadRequest(f"key: one of {', '.join(KEY_NAMES)}")
        if sign not in ("both", "response", "assertion", "none"):
            raise BadRequest("sign: one of both, response, assertion, none")
        if algorithm not in ALGORITHMS:
            raise BadRequest("algorithm: rsa-sha256 or rsa-sha1")
        sign_alg, digest_alg = ALGORITHMS[algorithm]
        issuer = issuer or self.entity_id
        assertion_id = assertion_id or new_id()
        response_id = response_id or new_id()
        now = saml_time()

        def attribute(attr_name, values):
            out = []
            for v in values:
                value = saml.AttributeValue()
                value.set_text(v)  # xsi:type="xs:string"
                out.append(value)
            return saml.Attribute(name=attr_name, name_format=saml.NAME_FORMAT_BASIC, attribute_value=out)

        attributes = [attribute("email", [email])]
        if name:
            attributes.append(attribute("displayName", [name]))
        if groups:
            attributes.append(attribute("groups", list(groups)))

        confirmation_data = saml.SubjectConfirmationData(
            not_on_or_after=saml_time(confirmation_not_on_or_after),
            recipient=recipient or acs,
            in_response_to=in_response_to,
        )
        assertion = saml.Assertion(
            id=assertion_id,
            version="2.0",
            issue_instant=now,
            issuer=saml.Issuer(text=issuer, format=saml.NAMEID_FORMAT_ENTITY),
            subject=saml.Subject(
                name_id=saml.NameID(format=saml.NAMEID_FORMAT_EMAILADDRESS, text=email),
                subject_confirmation=[saml.SubjectConfirmation(
                    method=saml.SCM_BEARER, subject_confirmation_data=confirmation_data)],
            ),
            conditions=saml.Conditions(
                not_before=saml_time(not_before),
                not_on_or_after=saml_time(not_on_or_after),
                audience_restriction=[saml.AudienceRestriction(audience=[saml.Audience(text=audience)])],
            ),
            authn_statement=[saml.AuthnStatement(
                authn_instant=now,
                session_index=new_id(),
                authn_context=saml.AuthnContext(
                    authn_context_class_ref=saml.AuthnContextClassRef(text=saml.AUTHN_PASSWORD_PROTECTED)),
            )],
            attribute_statement=[saml.AttributeStatement(attribute=attributes)],
        )
        response = samlp.Response(
            id=response_id,
            version="2.0",
            issue_instant=now,
            destination=destination or acs,
            in_response_to=in_response_to,
            issuer=saml.Issuer(text=issuer, format=saml.NAMEID_FORMAT_ENTITY),
            status=samlp.Status(status_code=samlp.StatusCode(value=samlp.STATUS_SUCCESS)),
            assertion=assertion,
        )

        # Signature templates (exclusive c14n, enveloped); xmlsec1 fills them in. The KeyInfo
        # carries the signing key's certificate.
        cert = cert_body(self.keys[key]["pem"])
        to_sign = []
        if sign in ("both", "assertion"):
            assertion.signature = pre_signature_part(assertion_id, cert, sign_alg=sign_alg, digest_alg=digest_alg)
            to_sign.append((ASSERTION_NODE, assertion_id))
        if sign in ("both", "response"):
            response.signature = pre_signature_part(response_id, cert, sign_alg=sign_alg, digest_alg=digest_alg)
            to_sign.append((RESPONSE_NODE, response_id))

        xml = response.to_string({"samlp": samlp.NAMESPACE, "saml": saml.NAMESPACE, "ds": xmldsig.NAMESPACE})
        xml = xml.decode() if isinstance(xml, bytes) else xml
        # The assertion first, so that the response's signature covers the signed assertion.
        for node_name, node_id in to_sign:
            xml = self.server.sec.sign_statement(
                xml, node_name, key_file=self.keys[key]["key_file"], node_id=node_id)
        return xml

    def mint(self, body):
        unknown = set(body) - MINT_FIELDS
        if unknown:
            raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}")
        for field in ("acs", "audience"):
            if not isinstance(body.get(field), str) or not body[field]:
                raise BadRequest(f"{field}: required")
        forge = body.get("forge")
        if forge is not None and forge not in FORGES:
            raise BadRequest(f"forge: one of {', '.join(FORGES)}")
        args = {k: v for k, v in body.items() if k != "forge" and v is not None}
        args.setdefault("email", "ann@shop.example")
        victim = args["email"]
        if forge == "comment_in_nameid":
            # The IdP genuinely asserts the attacker's own account "<email>.evil.example"; the
            # comment is put after "<email>" afterwards (see forge_comment_in_nameid).
            args["email"] = victim + ".evil.example"
        xml = self.build_response(**args)
        if forge:
            xml = apply_forge(forge, xml, victim)
        return {"SAMLResponse": base64.b64encode(xml.encode()).decode(), "xml": xml}


# ---- forgeries: applied to the genuinely signed XML with lxml ------------------------------------

def parse(xml):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    return etree.fromstring(xml.encode(), parser)


def serialize(root):
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8").decode()


def q(prefixed):
    prefix, local = prefixed.split(":")
    return f"{{{NS[prefix]}}}{local}"


def own_signature(el):
    """el's enveloped ds:Signature (a direct child), or None."""
    return el.find(q("ds:Signature"))


def without_signature(el):
    """A deep copy of el without its own ds:Signature: exactly what that signature's digest covered."""
    dup = copy.deepcopy(el)
    sig = own_signature(dup)
    if sig is not None:
        dup.remove(sig)
    return dup


def evilize(el):
    """The attacker's edit: every NameID and `email` attribute value below el says ATTACKER, and
    every ID on the way gets a fresh value (so the genuine ID is left to the hidden signed copy)."""
    for node in el.iter(q("saml:NameID")):
        node.text = ATTACKER
    for node in el.iterfind(".//saml:Attribute[@Name='email']/saml:AttributeValue", NS):
        node.text = ATTACKER
    for node in el.iter(q("samlp:Response"), q("saml:Assertion")):
        node.set("ID", "_evil" + secrets.token_hex(16))
    return el


def the_assertion(root):
    a = root.find(q("saml:Assertion"))
    if a is None:
        raise BadRequest("the response has no assertion")
    return a


def needs_signature(el, what):
    sig = own_signature(el)
    if sig is None:
        raise BadRequest(f"this forge wraps the {what}'s signature: mint with sign \"both\" or \"{what.lower()}\"")
    return sig


def apply_forge(forge, xml, victim):
    root = parse(xml)

    if forge == "xsw1":
        # XSW1: the attacker's Response becomes the root and keeps the genuine Response signature;
        # the genuine Response (its signature removed) is hidden inside that ds:Signature, where
        # the Reference's #ID still finds it.
        sig = needs_signature(root, "Response")
        genuine = without_signature(root)
        evilize(root)
        sig.append(genuine)
    elif forge == "xsw2":
        # XSW2: as XSW1, but the genuine Response is put beside the signature, as the root's child
        # just before ds:Signature (a "detached" signature).
        sig = needs_signature(root, "Response")
        genuine = without_signature(root)
        evilize(root)
        sig.addprevious(genuine)
    elif forge == "xsw3":
        # XSW3: an unsigned attacker's Assertion (fresh ID) inserted before the genuine signed one.
        assertion = the_assertion(root)
        needs_signature(assertion, "Assertion")
        assertion.addprevious(evilize(without_signature(assertion)))
    elif forge == "xsw4":
        # XSW4: an unsigned attacker's Assertion takes the genuine one's place and the genuine
        # signed Assertion becomes its last child.
        assertion = the_assertion(root)
        needs_signature(assertion, "Assertion")
        evil = evilize(without_signature(assertion))
        assertion.addprevious(evil)
        evil.append(assertion)
    elif forge == "xsw5":
        # XSW5: the Assertion in place is edited by the attacker (fresh ID) and keeps the genuine
        # signature; an unsigned copy of the genuine Assertion is appended at the end of the Response.
        assertion = the_assertion(root)
        needs_signature(assertion, "Assertion")
        genuine = without_signature(assertion)
        evilize(assertion)
        root.append(genuine)
    elif forge == "xsw6":
        # XSW6: as XSW5, but the unsigned genuine copy is hidden inside the edited Assertion's
        # ds:Signature (after SignatureValue/KeyInfo).
        assertion = the_assertion(root)
        sig = needs_signature(assertion, "Assertion")
        genuine = without_signature(assertion)
        evilize(assertion)
        sig.append(genuine)
    elif forge == "xsw7":
        # XSW7: an unsigned attacker's Assertion (fresh ID) inside a samlp:Extensions element (whose
        # schema allows any content) before Status; the genuine signed Assertion stays in place.
        assertion = the_assertion(root)
        needs_signature(assertion, "Assertion")
        extensions = etree.Element(q("samlp:Extensions"), nsmap={"samlp": samlp.NAMESPACE})
        extensions.append(evilize(without_signature(assertion)))
        root.find(q("samlp:Status")).addprevious(extensions)
    elif forge == "xsw8":
        # XSW8: the Assertion in place is edited by the attacker (fresh ID) and keeps the genuine
        # signature; the unsigned genuine copy sits in a ds:Object appended to that ds:Signature.
        assertion = the_assertion(root)
        sig = needs_signature(assertion, "Assertion")
        genuine = without_signature(assertion)
        evilize(assertion)
        obj = etree.SubElement(sig, q("ds:Object"))
        obj.append(genuine)
    elif forge == "comment_in_nameid":
        # The signed NameID (and email attribute) "<victim>.evil.example" becomes
        # "<victim><!---->.evil.example": the same text under exclusive c14n (comments dropped),
        # so every signature still verifies, but a reader of the first text node sees <victim>.
        nodes = list(root.iter(q("saml:NameID")))
        nodes += root.findall(".//saml:Attribute[@Name='email']/saml:AttributeValue", NS)
        for node in nodes:
            assert node.text.startswith(victim)
            rest = node.text[len(victim):]
            node.text = victim
            comment = etree.Comment("")
            comment.tail = rest
            node.insert(0, comment)
    elif forge == "signature_removed":
        # Every ds:Signature deleted: nothing is signed any more.
        for sig in list(root.iter(q("ds:Signature"))):
            sig.getparent().remove(sig)
    elif forge == "two_assertions":
        # A second, unsigned Assertion for the attacker (fresh ID) appended after the genuine one.
        root.append(evilize(without_signature(the_assertion(root))))
    elif forge == "doctype":
        # A DOCTYPE with an internal subset (one entity declaration, never referenced) before the
        # root element. It changes nothing the signatures cover, so they still verify: only a
        # consumer that refuses any DTD (as SAML consumers must) rejects it.
        return with_doctype(serialize(root), root, '<!ENTITY idp "tandem-test-idp">')
    elif forge == "entity_bomb":
        # Billion laughs: ten levels of ten-fold entity expansion (10^9 "lol"), referenced as the
        # NameID text. A parser that expands entities runs out of memory or time.
        marker = "ENTITYBOMB" + secrets.token_hex(8)
        for node in root.iter(q("saml:NameID")):
            node.text = marker
        subset = '<!ENTITY lol0 "lol">' + "".join(
            f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))
        return with_doctype(serialize(root), root, subset).replace(marker, "&lol9;")
    return serialize(root)


def with_doctype(xml, root, subset):
    decl, sep, rest = xml.partition("?>")
    name = f"{root.prefix}:Response" if root.prefix else "Response"
    return f"{decl}{sep}\n<!DOCTYPE {name} [{subset}]>\n{rest.lstrip()}"


# ---- HTML pages ----------------------------------------------------------------------------------

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body>
{body}
</body></html>
"""


def login_page(fields, error=None):
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v or "")}">\n'
        for k, v in fields.items())
    err = f'<p role="alert">{html.escape(error)}</p>\n' if error else ""
    body = f"""<h1>Tandem test IdP</h1>
{err}<form method="post" action="/login">
{hidden}<p><label for="username">Username</label> <input id="username" name="username" autocomplete="username"></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password"></p>
<p><button type="submit">Sign in</button></p>
</form>"""
    return PAGE.format(title="Sign in - Tandem test IdP", body=body)


def post_form_page(acs, saml_response, relay_state):
    relay = (f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">\n'
             if relay_state else "")
    body = f"""<form id="saml-post" method="post" action="{html.escape(acs)}">
<input type="hidden" name="SAMLResponse" value="{html.escape(saml_response)}">
{relay}<noscript><p>JavaScript is off: press Continue.</p></noscript>
<button type="submit">Continue</button>
</form>
<script>document.getElementById("saml-post").submit();</script>"""
    return PAGE.format(title="Signing in - Tandem test IdP", body=body)


def error_page(message):
    return PAGE.format(title="Error - Tandem test IdP", body=f"<h1>Error</h1>\n<p>{html.escape(message)}</p>")


# ---- HTTP --------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    idp: IdP = None
    server_version = "TandemTestIdP/1"

    def log_message(self, fmt, *args):
        log.info("%s %s", self.address_string(), fmt % args)

    def send(self, status, body, content_type):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def json(self, status, obj):
        self.send(status, json.dumps(obj), "application/json")

    def page(self, status, body):
        self.send(status, body, "text/html; charset=utf-8")

    def body_bytes(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def json_body(self):
        try:
            body = json.loads(self.body_bytes() or b"{}")
        except ValueError:
            raise BadRequest("the body is not JSON")
        if not isinstance(body, dict):
            raise BadRequest("the body is not a JSON object")
        return body

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        try:
            if url.path == "/healthz":
                self.json(200, {"ok": True})
            elif url.path == "/metadata":
                self.send(200, self.idp.metadata_xml(), "application/samlmetadata+xml")
            elif url.path == "/certs":
                self.json(200, {name: k["pem"] for name, k in self.idp.keys.items()})
            elif url.path == "/sso":
                self.sso(query)
            elif url.path == "/idp-initiated":
                sp = query.get("sp") or ""
                acs = self.idp.pick_acs(sp)
                self.page(200, login_page({"sp": sp, "acs": acs, "in_response_to": "",
                                           "relay_state": query.get("relay_state", "")}))
            else:
                self.json(404, {"error": "not found"})
        except BadRequest as exc:
            self.page(400, error_page(str(exc)))
        except Exception as exc:
            log.exception("GET %s", url.path)
            self.page(500, error_page(f"{type(exc).__name__}: {exc}"))

    def sso(self, query):
        if "SAMLRequest" not in query:
            raise BadRequest("SAMLRequest is missing")
        try:
            req = self.idp.server.parse_authn_request(
                query["SAMLRequest"], BINDING_HTTP_REDIRECT, relay_state=query.get("RelayState"),
                sigalg=query.get("SigAlg"), signature=query.get("Signature"))
        except Exception as exc:
            log.warning("bad AuthnRequest: %r", exc)
            raise BadRequest(f"Bad SAMLRequest: {exc!r}")
        if req is None:
            raise BadRequest("Bad SAMLRequest")
        msg = req.message
        sp = msg.issuer.text if msg.issuer is not None else ""
        acs = self.idp.pick_acs(sp, msg.assertion_consumer_service_url)
        self.page(200, login_page({"sp": sp, "acs": acs, "in_response_to": msg.id,
                                   "relay_state": query.get("RelayState", "")}))

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        try:
            if url.path == "/login":
                self.login()
            elif url.path == "/mint":
                self.json(200, self.idp.mint(self.json_body()))
            elif url.path == "/settings":
                body = self.json_body()
                if body.get("active_key") not in ("a", "b"):
                    raise BadRequest("active_key: \"a\" or \"b\"")
                self.idp.active_key = body["active_key"]
                self.json(200, {"active_key": self.idp.active_key})
            elif url.path == "/users":
                body = self.json_body()
                for field in ("username", "password", "email"):
                    if not isinstance(body.get(field), str) or not body[field]:
                        raise BadRequest(f"{field}: required")
                groups = body.get("groups") or []
                if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
                    raise BadRequest("groups: a list of strings")
                with self.idp.lock:
                    self.idp.users[body["username"]] = {
                        "password": body["password"], "email": body["email"],
                        "name": body.get("name") or "", "groups": groups}
                self.json(200, {"username": body["username"]})
            elif url.path == "/sp":
                body = self.json_body()
                if not isinstance(body.get("metadata"), str):
                    raise BadRequest("metadata: required")
                ids = self.idp.register_sp(body["metadata"])
                self.json(200, {"entity_ids": ids, "acs": {eid: self.idp.acs_urls(eid) for eid in ids}})
            else:
                self.json(404, {"error": "not found"})
        except BadRequest as exc:
            if url.path == "/login":
                self.page(400, error_page(str(exc)))
            else:
                self.json(400, {"error": str(exc)})
        except Exception as exc:
            log.exception("POST %s", url.path)
            self.json(500, {"error": f"{type(exc).__name__}: {exc}"})

    def login(self):
        form = {k: v[0] for k, v in urllib.parse.parse_qs(
            self.body_bytes().decode(), keep_blank_values=True).items()}
        state = {k: form.get(k, "") for k in ("sp", "acs", "in_response_to", "relay_state")}
        # The hidden fields come back from the browser: check the ACS against the metadata again.
        acs = self.idp.pick_acs(state["sp"], state["acs"])
        user = self.idp.users.get(form.get("username", ""))
        if user is None or not secrets.compare_digest(user["password"], form.get("password", "")):
            self.page(401, login_page(state, error="Wrong username or password"))
            return
        xml = self.idp.build_response(
            acs=acs, audience=state["sp"], in_response_to=state["in_response_to"] or None,
            email=user["email"], name=user["name"], groups=user["groups"])
        saml_response = base64.b64encode(xml.encode()).decode()
        self.page(200, post_form_page(acs, saml_response, state["relay_state"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dir", required=True, help="where the generated keys and certificates go")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="idp: %(message)s")
    logging.getLogger("saml2").setLevel(logging.WARNING)
    os.makedirs(args.dir, exist_ok=True)

    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    httpd.daemon_threads = True
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    Handler.idp = IdP(base, args.dir)

    # Exit when the test's pipe closes, and on SIGTERM.
    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    print(f"READY {base}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()

"""Test PKI: a CA, the server cert (127.0.0.1 + localhost), a wrong-host cert (same CA) and a
self-signed cert. ECDSA P-256 keys: fast to make and cheap per TLS handshake."""
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOCALHOST_IP = ipaddress.ip_address("127.0.0.1")


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pam_clerk FAPI emulator"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path, key):
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _write_cert(path, cert):
    with open(path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def _leaf(subject_cn, sans, key, issuer_name, issuer_key, now, is_self_signed=False):
    b = (x509.CertificateBuilder()
         .subject_name(_name(subject_cn))
         .issuer_name(_name(subject_cn) if is_self_signed else issuer_name)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(hours=1))
         .not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.SubjectAlternativeName(sans), critical=False)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    return b.sign(key if is_self_signed else issuer_key, hashes.SHA256())


def generate(state_dir):
    """Write the PKI into state_dir; return {name: (cert_path, key_path)} plus 'ca'."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = _key()
    ca_name = _name("pam_clerk emulator test CA")
    ca = (x509.CertificateBuilder()
          .subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    out = {}
    ca_path = os.path.join(state_dir, "ca.pem")
    _write_cert(ca_path, ca)
    _write_key(os.path.join(state_dir, "ca.key"), ca_key)
    out["ca"] = ca_path
    specs = {
        "server": ("127.0.0.1", [x509.IPAddress(LOCALHOST_IP), x509.DNSName("localhost")], False),
        "wrong_host": ("wrong-host.invalid", [x509.DNSName("wrong-host.invalid")], False),
        "self_signed": ("127.0.0.1", [x509.IPAddress(LOCALHOST_IP), x509.DNSName("localhost")], True),
    }
    for name, (cn, sans, selfsigned) in specs.items():
        key = _key()
        cert = _leaf(cn, sans, key, ca_name, ca_key, now, selfsigned)
        cp = os.path.join(state_dir, name + ".pem")
        kp = os.path.join(state_dir, name + ".key")
        _write_cert(cp, cert)
        _write_key(kp, key)
        out[name] = (cp, kp)
    return out

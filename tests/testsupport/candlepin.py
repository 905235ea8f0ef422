"""A local Candlepin: the register, owners, check-in and regenerate calls over real TLS, with consumer certificates
issued by a trustme CA and an expiry the test chooses.

Why not a scripted server alone: the client's calls depend on each other (the UUID of the registration names the
check-in, the check-in must present the certificate the registration issued), so this endpoint keeps the state a
real Candlepin keeps and checks each call as Candlepin does: basic auth for the user calls, the consumer's own
certificate (subject CN = its UUID) for the consumer calls. `script` still overrides answers for hostile cases.
"""

from __future__ import annotations

import base64
import ssl
import uuid as uuids
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import trustme

from .https_servers import HTTPSServer, Recorded, Reply


@dataclass
class Consumer:
    uuid: str
    owner: str
    cert_pem: str
    key_pem: str
    checkins: int = 0
    regenerations: int = 0


@dataclass
class CandlepinState:
    users: dict[str, str] = field(default_factory=dict)  # user → password
    owners: dict[str, list[str]] = field(default_factory=dict)  # user → organization keys
    consumers: dict[str, Consumer] = field(default_factory=dict)
    validity: timedelta = timedelta(days=365)  # of the certificates issued from now on


class FakeCandlepin(HTTPSServer):
    """Candlepin at `url('/candlepin')`; a consumer certificate is accepted when issued by `ca`."""

    PREFIX = '/candlepin'

    def __init__(self, ca: trustme.CA, state: CandlepinState | None = None) -> None:
        self.ca = ca
        self.state = state or CandlepinState()
        super().__init__(ca, self._respond, client_ca=ca)
        self._server.context.verify_mode = ssl.CERT_OPTIONAL  # user calls come without a certificate

    @property
    def api(self) -> str:
        return self.url(self.PREFIX)

    def issue(self, uuid: str, validity: timedelta | None = None) -> tuple[str, str]:
        """(certificate, key) PEM for consumer `uuid`, valid from a day ago for `validity`."""
        now = datetime.now(UTC)
        leaf = self.ca.issue_cert(
            'consumer.candlepin.test',
            common_name=uuid,
            not_before=now - timedelta(days=1),
            not_after=now + (validity if validity is not None else self.state.validity),
        )
        return leaf.cert_chain_pems[0].bytes().decode(), leaf.private_key_pem.bytes().decode()

    def _user(self, request: Recorded) -> str | None:
        header = request.headers.get('Authorization', '')
        if not header.startswith('Basic '):
            return None
        user, _, password = base64.b64decode(header[6:]).decode('latin-1').partition(':')
        return user if self.state.users.get(user) == password else None

    def _consumer(self, request: Recorded, uuid: str) -> Consumer | None:
        subject = request.client_cert_subject or ''
        consumer = self.state.consumers.get(uuid)
        return consumer if consumer and uuid in subject.split(', ') else None

    def _respond(self, request: Recorded) -> Reply:
        parts = urlsplit(request.path)
        path = parts.path.removeprefix(self.PREFIX)
        segments = [unquote(s) for s in path.strip('/').split('/')]
        if request.method == 'GET' and len(segments) == 3 and segments[0] == 'users' and segments[2] == 'owners':
            user = self._user(request)
            if user is None or user != segments[1]:
                return Reply(401, {'displayMessage': 'Invalid Credentials'})
            return Reply(200, [{'key': key, 'displayName': key.title()} for key in self.state.owners.get(user, [])])
        if request.method == 'POST' and segments == ['consumers']:
            user = self._user(request)
            if user is None:
                return Reply(401, {'displayMessage': 'Invalid Credentials'})
            owner = parse_qs(parts.query).get('owner', [''])[0]
            if owner not in self.state.owners.get(user, []):
                return Reply(404, {'displayMessage': f'Organization with id {owner} could not be found.'})
            body = request.json()
            if body.get('type', {}).get('label') != 'system' or not body.get('name'):
                return Reply(400, {'displayMessage': 'consumer type and name are required'})
            uuid = str(uuids.uuid4())
            cert, key = self.issue(uuid)
            self.state.consumers[uuid] = Consumer(uuid, owner, cert, key)
            return Reply(200, self._consumer_json(self.state.consumers[uuid]))
        if len(segments) == 2 and segments[0] == 'consumers' and request.method in ('PUT', 'POST'):
            consumer = self._consumer(request, segments[1])
            if consumer is None:
                return Reply(401, {'displayMessage': 'Unauthorized'})
            if request.method == 'PUT':
                consumer.checkins += 1
                return Reply(204)
            consumer.regenerations += 1
            consumer.cert_pem, consumer.key_pem = self.issue(consumer.uuid)
            return Reply(200, self._consumer_json(consumer))
        return Reply(404, {'displayMessage': f'no such resource {path}'})

    @staticmethod
    def _consumer_json(consumer: Consumer) -> dict:
        return {
            'uuid': consumer.uuid,
            'name': 'host',
            'owner': {'key': consumer.owner},
            'idCert': {'cert': consumer.cert_pem, 'key': consumer.key_pem, 'serial': {'serial': 1}},
        }

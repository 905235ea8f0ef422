"""Stand-ins for console.redhat.com: Red Hat SSO's token endpoint and the ingress upload service."""

from __future__ import annotations

import urllib.parse

from .https_servers import Recorded, Reply
from .secrets import CLIENT_ID, CLIENT_SECRET, TOKEN_PREFIX


class SSOResponder:
    """Red Hat SSO's token endpoint: client credentials in, a new bearer token out (`token-1`, `token-2`, …)."""

    def __init__(self, expires_in: int = 900) -> None:
        self.expires_in = expires_in
        self.issued: list[str] = []

    def __call__(self, request: Recorded) -> Reply:
        form = dict(urllib.parse.parse_qsl(request.body.decode()))
        if form.get('grant_type') != 'client_credentials':
            return Reply(400, {'error': 'unsupported_grant_type'})
        if form.get('client_id') != CLIENT_ID or form.get('client_secret') != CLIENT_SECRET:
            return Reply(401, {'error': 'invalid_client', 'error_description': 'Invalid client credentials'})
        token = f'{TOKEN_PREFIX}{len(self.issued) + 1}'
        self.issued.append(token)
        return Reply(200, {'access_token': token, 'expires_in': self.expires_in, 'token_type': 'Bearer'})


def accepted(request: Recorded) -> Reply:
    return Reply(202, {'upload': {'account_number': '1'}}, {'x-rh-insights-request-id': 'req-0001'})

"""The HTTP side of the national data·inclusion API source (importers.national):
the API's root, a client whose GETs carry the token and are retried with
exponential backoff (urllib3's Retry: 429 with its Retry-After, 5xx, network
errors; a body cut short or not JSON is asked again too), and the API's refusals
told in French."""

from __future__ import annotations

import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from importers.errors import ImporterError

DEFAULT_BASE_URL = "https://api.data.inclusion.gouv.fr"
API_PREFIX = "/api/v1"
# Tries of one request (the first included) on 429, 5xx and network errors.
ATTEMPTS = 6
BACKOFF_FACTOR = 1.0  # seconds: 1, 2, 4, 8… between tries
BACKOFF_MAX = 120.0
RETRIED_STATUSES = (429, 500, 502, 503, 504)
TIMEOUT = (10, 120)  # connect, read (seconds)
TOKEN_HELP = ("un jeton se demande à l'équipe data·inclusion (formulaire lié depuis "
              "la documentation de l'API, /api/docs)")


class NationalApiError(ImporterError):
    """The API could not be read (token refused, unreachable, answers not as
    documented). Raised before anything is written."""


def _retry(attempts: int, backoff: float) -> Retry:
    return Retry(
        total=attempts - 1, connect=attempts - 1, read=attempts - 1, status=attempts - 1, other=0,
        backoff_factor=backoff, backoff_max=BACKOFF_MAX, status_forcelist=RETRIED_STATUSES,
        allowed_methods=frozenset({"GET"}), respect_retry_after_header=True, raise_on_status=False,
    )


def api_root(base_url: str) -> str:
    """`https://host` or `https://host/api/v1` → `https://host/api/v1`."""
    base = base_url.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise NationalApiError(
            f"adresse de l'API invalide : « {base_url} » (attendu : https://…, par exemple {DEFAULT_BASE_URL})"
        )
    return base if base.endswith(API_PREFIX) else base + API_PREFIX


class Client:
    """GET on the API with the token; each request retried by urllib3 (429 with its
    Retry-After, 5xx, network errors) with exponential backoff."""

    def __init__(self, base_url: str, token: str, *, attempts: int = ATTEMPTS,
                 backoff: float = BACKOFF_FACTOR, timeout=TIMEOUT):
        if not (token or "").strip():
            raise NationalApiError(
                "aucun jeton pour l'API data·inclusion : renseignez le réglage "
                f"DATA_INCLUSION_API_TOKEN ou l'option --token ({TOKEN_HELP})."
            )
        self.root = api_root(base_url)
        self.attempts, self.backoff = attempts, backoff
        self.timeout = timeout
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {token.strip()}", "Accept": "application/json"})
        adapter = HTTPAdapter(max_retries=_retry(attempts, backoff))
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    def get(self, path: str, params: dict | None = None, *, missing_ok: bool = False) -> dict | None:
        url = self.root + path
        # An answer cut short (connection dropped in the body) or not JSON is asked
        # again too, with the same backoff.
        for attempt in range(self.attempts):
            try:
                response = self.http.get(url, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise NationalApiError(
                    f"l'API data·inclusion est injoignable ({self.root}) après {self.attempts} essais : "
                    f"{_reason(exc)}. Vérifiez l'adresse (DATA_INCLUSION_API_URL) et le réseau, puis relancez : "
                    "les pages déjà reçues sont gardées."
                ) from exc
            except requests.RequestException as exc:  # body cut short
                if attempt + 1 < self.attempts:
                    time.sleep(min(BACKOFF_MAX, self.backoff * 2 ** attempt))
                    continue
                raise NationalApiError(f"réponse incomplète de l'API data·inclusion ({url}) : {exc}") from exc
            if missing_ok and response.status_code == 404:
                return None
            _check_status(response, self.attempts)
            try:
                return response.json()
            except ValueError:
                if attempt + 1 < self.attempts:
                    time.sleep(min(BACKOFF_MAX, self.backoff * 2 ** attempt))
                    continue
                raise NationalApiError(
                    f"l'API data·inclusion a répondu autre chose que du JSON à {response.url}"
                ) from None
        raise AssertionError("unreachable")


_REASONS = {
    "Connection refused": "connexion refusée",
    "Name or service not known": "nom de serveur inconnu",
    "Temporary failure in name resolution": "nom de serveur introuvable",
    "timed out": "délai dépassé",
    "No route to host": "serveur hors d'atteinte",
}


def _reason(exc: Exception) -> str:
    """The network error in French when it is a usual one, else as urllib3 says it."""
    text_ = str(exc)
    return next((french for marker, french in _REASONS.items() if marker in text_), text_[:200])


def _check_status(response: requests.Response, attempts: int) -> None:
    status = response.status_code
    if status < 400:
        return
    if status == 401:
        raise NationalApiError(
            "jeton refusé par l'API data·inclusion (401 : inconnu ou expiré) : vérifiez "
            f"DATA_INCLUSION_API_TOKEN ou --token ({TOKEN_HELP}). Rien n'a été écrit."
        )
    if status == 403:
        raise NationalApiError(
            "le jeton n'ouvre pas l'accès aux données de l'API data·inclusion (403) : demandez "
            f"un jeton d'accès à l'API ({TOKEN_HELP}). Rien n'a été écrit."
        )
    if status in RETRIED_STATUSES:
        raise NationalApiError(
            f"l'API data·inclusion répond encore {status} après {attempts} essais ({response.url}) : "
            "relancez plus tard, les pages déjà reçues sont gardées. Rien n'a été écrit."
        )
    detail = response.text[:300].strip()
    raise NationalApiError(
        f"l'API data·inclusion refuse la requête {response.url} ({status}"
        + (f" : {detail}" if detail else "") + "). Vérifiez l'adresse de l'API et les options. "
        "Rien n'a été écrit."
    )

"""The carrier record and the built-in carriers (plain data, no plugin manager).

:mod:`plugins.carriers` looks carriers up across these and the ``register_carriers`` hook.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple
from urllib.parse import quote

_KEY = re.compile(r"[^a-z0-9]")


def carrier_key(value: str) -> str:
    """``"Royal Mail"``, ``"royal-mail"``, ``"ROYAL_MAIL"`` → ``"royalmail"``."""
    return _KEY.sub("", value.lower())


@dataclass(frozen=True)
class Carrier:
    """A carrier: ``code`` (stable slug), display ``name``, other spellings, URL template.

    ``url_template`` contains ``{number}``, replaced by the URL-quoted tracking number.
    """

    code: str
    name: str
    url_template: Optional[str] = None
    aliases: Tuple[str, ...] = ()

    def tracking_url(self, number: str) -> Optional[str]:
        if not self.url_template or not number:
            return None
        return self.url_template.replace("{number}", quote(number, safe=""))


BUILTIN_CARRIERS: Tuple[Carrier, ...] = (
    Carrier("ups", "UPS", "https://www.ups.com/track?tracknum={number}", ("united parcel service",)),
    Carrier("usps", "USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}", ("united states postal service",)),
    Carrier("fedex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr={number}", ("federal express",)),
    Carrier("dhl", "DHL Express", "https://www.dhl.com/en/express/tracking.html?AWB={number}", ("dhl express", "dhl-express")),
    Carrier("dhl-ecommerce", "DHL eCommerce", "https://webtrack.dhlecs.com/?trackingnumber={number}", ("dhl ecommerce",)),
    Carrier("royal-mail", "Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/{number}"),
    Carrier("parcelforce", "Parcelforce", "https://www.parcelforce.com/track-trace?trackNumber={number}"),
    Carrier("evri", "Evri", "https://www.evri.com/track/parcel/{number}", ("hermes", "hermes uk", "myhermes")),
    Carrier("dpd", "DPD", "https://tracking.dpd.de/status/en_US/parcel/{number}", ("dpd uk",)),
    Carrier("gls", "GLS", "https://gls-group.com/track/{number}"),
    Carrier("postnl", "PostNL", "https://postnl.nl/tracktrace/?B={number}"),
    Carrier("canada-post", "Canada Post", "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={number}"),
    Carrier("australia-post", "Australia Post", "https://auspost.com.au/mypost/track/#/details/{number}", ("auspost",)),
    Carrier("colissimo", "Colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code={number}", ("la poste",)),
    Carrier("deutsche-post", "Deutsche Post", "https://www.deutschepost.de/sendung/simpleQuery.html?form.sendungsnummer={number}"),
)

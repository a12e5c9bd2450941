""""When will it get here?" about a verified order: the carrier's estimate when the platform gives
one, else where the order stands plus the store's delivery-time policy (or that the store
has not given one)."""
from __future__ import annotations

from typing import Optional

from actions.replies import say
from actions.runtime import Runtime
from actions.store_access import StoreContext
from plugins.model import Order, Shipment, ShipmentStatus


def estimated_shipment(order: Order) -> Optional[Shipment]:
    """The undelivered parcel with the latest carrier estimate (None when no parcel has one)."""
    pending = [s for s in order.shipments if s.estimated_delivery_at and s.status != ShipmentStatus.DELIVERED]
    return max(pending, key=lambda s: s.estimated_delivery_at) if pending else None


def arrival_text(runtime: Runtime, store: StoreContext, order: Order) -> str:
    """The answer to "when will order X arrive?" for a verified ``order``."""
    estimate = estimated_shipment(order)
    first = next((s for s in order.shipments if s.status != ShipmentStatus.DELIVERED), None) or (
        order.shipments[0] if order.shipments else None)
    return say(runtime, store, "arrival", number=order.number, status=order.status.value,
               estimate=estimate.to_public_dict() if estimate else None,
               shipment=first.to_public_dict() if first else None,
               parcels=len(order.shipments), policy=store.fact("shipping"), contact=store.fact("contact"))

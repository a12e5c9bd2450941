"""The GraphQL documents the Shopify platform sends (validated against ``schema.graphql`` in tests)."""
from __future__ import annotations

ORDER_FIELDS = """
fragment OrderFields on Order {
  id
  legacyResourceId
  name
  createdAt
  updatedAt
  cancelledAt
  email
  phone
  displayFinancialStatus
  displayFulfillmentStatus
  currencyCode
  subtotalPriceSet { shopMoney { amount currencyCode } }
  totalShippingPriceSet { shopMoney { amount currencyCode } }
  totalTaxSet { shopMoney { amount currencyCode } }
  totalPriceSet { shopMoney { amount currencyCode } }
  billingAddress { zip lastName phone }
  shippingAddress { zip lastName phone }
  statusPageUrl
  lineItems(first: 20) {
    nodes {
      title
      quantity
      sku
      variantTitle
      originalUnitPriceSet { shopMoney { amount currencyCode } }
      discountedTotalSet { shopMoney { amount currencyCode } }
    }
  }
  fulfillments(first: 5) {
    status
    displayStatus
    createdAt
    deliveredAt
    inTransitAt
    estimatedDeliveryAt
    trackingInfo(first: 3) { company number url }
    fulfillmentLineItems(first: 10) {
      nodes { quantity lineItem { title } }
    }
  }
}
"""

#: orders matching a search ``query`` (``name:``/``email:``), newest first, plus the app's scopes
#: (to tell "not found" from "older than the app may see")
FIND_ORDERS = (
    """
query TrulyBotFindOrders($query: String!, $first: Int!) {
  orders(first: $first, query: $query, sortKey: CREATED_AT, reverse: true) {
    nodes { ...OrderFields }
  }
  currentAppInstallation { accessScopes { handle } }
}
"""
    + ORDER_FIELDS
)

#: one order by name; ``emailProbe`` (the newest order's email) tells in the same request whether
#: the shop hides customer emails from the app, also when no order has that name
GET_ORDER = (
    """
query TrulyBotGetOrder($query: String!, $first: Int!) {
  orders(first: $first, query: $query, sortKey: CREATED_AT, reverse: true) {
    nodes { ...OrderFields }
  }
  emailProbe: orders(first: 1, sortKey: CREATED_AT, reverse: true) { nodes { email } }
  currentAppInstallation { accessScopes { handle } }
}
"""
    + ORDER_FIELDS
)

#: connection check
SHOP = """
query TrulyBotShop {
  shop {
    name
    myshopifyDomain
    primaryDomain { url }
    currencyCode
    ianaTimezone
  }
  currentAppInstallation { accessScopes { handle } }
}
"""

ALL_QUERIES = {"TrulyBotFindOrders": FIND_ORDERS, "TrulyBotGetOrder": GET_ORDER, "TrulyBotShop": SHOP}

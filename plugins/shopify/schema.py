"""Subset of the Shopify Admin GraphQL API (2025-07) used by TrulyBot, as SDL.

Names and types follow shopify.dev/docs/api/admin-graphql. The Shopify emulator serves this
schema and the tests validate every document in :mod:`plugins.shopify.queries` against it, so a
misspelt field fails a test instead of a real store call. Kept in a Python module so it ships
with the package without extra package-data rules.
"""
from __future__ import annotations

import functools

from graphql import GraphQLSchema, build_schema

SCHEMA_SDL = """
schema {
  query: QueryRoot
}

scalar DateTime
scalar Decimal
scalar URL
scalar UnsignedInt64

enum CurrencyCode {
  AED AUD BRL CAD CHF CNY CZK DKK EUR GBP HKD HUF IDR ILS INR JPY KRW MXN MYR NOK NZD PHP PLN
  SEK SGD THB TRY TWD USD ZAR
}

enum OrderDisplayFinancialStatus {
  PENDING AUTHORIZED PARTIALLY_PAID PARTIALLY_REFUNDED VOIDED PAID REFUNDED EXPIRED
}

enum OrderDisplayFulfillmentStatus {
  UNFULFILLED PARTIALLY_FULFILLED FULFILLED RESTOCKED PENDING_FULFILLMENT OPEN IN_PROGRESS ON_HOLD
  SCHEDULED REQUEST_DECLINED
}

enum OrderCancelReason {
  CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF
}

enum OrderSortKeys {
  CREATED_AT CUSTOMER_NAME FINANCIAL_STATUS FULFILLMENT_STATUS ID NUMBER PO_NUMBER PROCESSED_AT
  RELEVANCE TOTAL_ITEMS_QUANTITY TOTAL_PRICE UPDATED_AT
}

enum FulfillmentStatus {
  CANCELLED ERROR FAILURE SUCCESS OPEN PENDING
}

enum FulfillmentDisplayStatus {
  ATTEMPTED_DELIVERY CANCELED CONFIRMED DELIVERED FAILURE FULFILLED IN_TRANSIT LABEL_PRINTED
  LABEL_PURCHASED LABEL_VOIDED MARKED_AS_FULFILLED NOT_DELIVERED OUT_FOR_DELIVERY PICKED_UP
  READY_FOR_PICKUP SUBMITTED
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type MoneyV2 {
  amount: Decimal!
  currencyCode: CurrencyCode!
}

type MoneyBag {
  shopMoney: MoneyV2!
  presentmentMoney: MoneyV2!
}

type MailingAddress {
  id: ID!
  zip: String
  firstName: String
  lastName: String
  phone: String
  city: String
  province: String
  provinceCode: String
  country: String
  countryCodeV2: String
}

type LineItem {
  id: ID!
  title: String!
  name: String!
  quantity: Int!
  sku: String
  variantTitle: String
  originalUnitPriceSet: MoneyBag!
  discountedTotalSet: MoneyBag!
}

type LineItemEdge {
  cursor: String!
  node: LineItem!
}

type LineItemConnection {
  edges: [LineItemEdge!]!
  nodes: [LineItem!]!
  pageInfo: PageInfo!
}

type FulfillmentTrackingInfo {
  company: String
  number: String
  url: URL
}

type FulfillmentLineItem {
  id: ID!
  quantity: Int!
  lineItem: LineItem!
}

type FulfillmentLineItemEdge {
  cursor: String!
  node: FulfillmentLineItem!
}

type FulfillmentLineItemConnection {
  edges: [FulfillmentLineItemEdge!]!
  nodes: [FulfillmentLineItem!]!
  pageInfo: PageInfo!
}

type Fulfillment {
  id: ID!
  name: String!
  status: FulfillmentStatus!
  displayStatus: FulfillmentDisplayStatus
  createdAt: DateTime!
  updatedAt: DateTime!
  deliveredAt: DateTime
  inTransitAt: DateTime
  estimatedDeliveryAt: DateTime
  trackingInfo(first: Int): [FulfillmentTrackingInfo!]!
  fulfillmentLineItems(first: Int, after: String): FulfillmentLineItemConnection!
}

type Order {
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  processedAt: DateTime!
  cancelledAt: DateTime
  cancelReason: OrderCancelReason
  closed: Boolean!
  closedAt: DateTime
  email: String
  phone: String
  test: Boolean!
  displayFinancialStatus: OrderDisplayFinancialStatus
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  currencyCode: CurrencyCode!
  subtotalPriceSet: MoneyBag
  totalShippingPriceSet: MoneyBag!
  totalTaxSet: MoneyBag
  totalPriceSet: MoneyBag!
  billingAddress: MailingAddress
  shippingAddress: MailingAddress
  statusPageUrl: URL!
  lineItems(first: Int, after: String): LineItemConnection!
  fulfillments(first: Int): [Fulfillment!]!
}

type OrderEdge {
  cursor: String!
  node: Order!
}

type OrderConnection {
  edges: [OrderEdge!]!
  nodes: [Order!]!
  pageInfo: PageInfo!
}

type Domain {
  host: String!
  url: URL!
}

type Shop {
  id: ID!
  name: String!
  email: String!
  myshopifyDomain: String!
  primaryDomain: Domain!
  currencyCode: CurrencyCode!
  ianaTimezone: String!
}

type AccessScope {
  handle: String!
  description: String!
}

type AppInstallation {
  id: ID!
  accessScopes: [AccessScope!]!
}

type QueryRoot {
  shop: Shop!
  order(id: ID!): Order
  orders(
    first: Int
    after: String
    last: Int
    before: String
    query: String
    reverse: Boolean = false
    sortKey: OrderSortKeys = PROCESSED_AT
  ): OrderConnection!
  currentAppInstallation: AppInstallation!
}
"""


@functools.lru_cache(maxsize=1)
def get_schema() -> GraphQLSchema:
    """The parsed schema (built once)."""
    return build_schema(SCHEMA_SDL)

"""The Shopify demo shop and app the emulator serves (demo mode, tests)."""

DEMO_SHOP_DOMAIN = "trulybot-demo.myshopify.com"
DEMO_ACCESS_TOKEN = "shpat_demo_5e0c1f7a2b9d4e8f8a6c3b1d0e9f7a2c"
DEMO_API_KEY = "demo-trulybot-api-key"
DEMO_API_SECRET = "demo-trulybot-api-secret-7f3a9c"

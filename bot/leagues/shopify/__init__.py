"""The operator's own Shopify shop (Admin GraphQL API): products, a link (and code) per group, orders."""

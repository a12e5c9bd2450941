/* TrulyBot widget (placeholder) */

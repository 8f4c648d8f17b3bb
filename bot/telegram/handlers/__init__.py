"""Module-level handlers, one module per feature; ``bot.telegram.adapter`` registers them."""

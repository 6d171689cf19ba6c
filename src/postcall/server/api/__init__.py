"""The admin REST API: routes, response models, and the queries behind them."""

"""WeChat league clients: access tokens and the Channels 推客 (promoter / head supplier) API."""

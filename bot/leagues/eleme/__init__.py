"""饿了么 (Ele.me, now 淘宝闪购) coupon links through the Taobao Open Platform's local-services methods."""

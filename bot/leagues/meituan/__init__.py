"""美团 (Meituan) coupon links through the 美团联盟 CPS open API (`cps_open/common/api/v1`)."""

"""The operator's own Youzan shop (有赞云): items, a salesman (销售员) per group, their orders."""

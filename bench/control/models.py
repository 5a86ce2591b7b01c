from django.db import models


class Intake(models.Model):
    """One row per accepted request: the control's whole "work order"."""

    order_type = models.CharField(max_length=20)
    channel = models.CharField(max_length=20)
    account_no = models.CharField(max_length=20, blank=True)
    content = models.TextField()
    idempotency_key = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.order_type} {self.account_no}"

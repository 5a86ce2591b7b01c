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


class Payment(models.Model):
    """One row per payment: the control's whole payment — no account, no bills, no allocation."""

    account_no = models.CharField(max_length=20)
    channel = models.CharField(max_length=20)
    reference = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    paid_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "reference"], name="control_payment_once")]

    def __str__(self) -> str:
        return f"{self.channel} {self.reference}"

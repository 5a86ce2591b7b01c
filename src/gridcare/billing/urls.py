"""Billing pages under /billing/."""

from django.urls import URLPattern, URLResolver, path

from . import views, views_arrears, views_payments

app_name = "billing"
urlpatterns: list[URLPattern | URLResolver] = [
    path("customer/<str:account_no>/", views.customer_card, name="customer_card"),
    path("bills/<str:number>/", views.bill_page, name="bill"),
    path("bills/<str:number>/explanation/", views.explanation, name="explanation"),
    path("bills/<str:number>/pdf/", views.bill_pdf, name="bill_pdf"),
    path("runs/", views.run_list, name="runs"),
    path("runs/<int:pk>/", views.run_page, name="run"),
    path("runs/<int:pk>/anomalies/<int:anomaly_id>/review/", views.review, name="review"),
    path("runs/<int:pk>/accept-all/", views.accept_all, name="accept_all"),
    path("runs/<int:pk>/release/", views.release, name="release"),
    # The desk: counter payments, receipts, payment lists, waivers, reconciliation, files.
    path("desk/", views_payments.desk, name="desk"),
    path("desk/pay/", views_payments.take_payment, name="take_payment"),
    path("desk/receipts/<str:receipt_no>/", views_payments.receipt, name="receipt"),
    path("desk/receipts/<str:receipt_no>/pdf/", views_payments.receipt_pdf, name="receipt_pdf"),
    path("desk/receipts/<str:receipt_no>/reverse/", views_payments.reverse_payment, name="reverse_payment"),
    path("desk/payments/", views_payments.day_payments, name="day_payments"),
    path(
        "desk/payments/customer/<str:account_no>/", views_payments.customer_payments, name="customer_payments"
    ),
    path("bills/<str:number>/waiver/", views_payments.request_waiver, name="request_waiver"),
    path("desk/waivers/", views_payments.waivers, name="waivers"),
    path("desk/waivers/<int:pk>/decide/", views_payments.decide_waiver, name="decide_waiver"),
    path("desk/reconciliations/", views_payments.reconciliations, name="reconciliations"),
    path("desk/reconciliations/<int:pk>/", views_payments.reconciliation, name="reconciliation"),
    path("desk/files/", views_payments.files, name="files"),
    path("desk/files/<int:pk>/", views_payments.file_report, name="file"),
    # Arrears control (欠费停复电), 保电, "533" and prepaid (费控): views_arrears.
    path("disconnections/", views_arrears.case_list, name="cases"),
    path("disconnections/new/", views_arrears.case_new, name="case_new"),
    path("disconnections/<str:number>/", views_arrears.case_page, name="case"),
    path("disconnections/<str:number>/notice/", views_arrears.record_notice, name="case_notice"),
    path("disconnections/<str:number>/call/", views_arrears.record_call, name="case_call"),
    path("disconnections/<str:number>/execute/", views_arrears.execute, name="case_execute"),
    path(
        "disconnections/<str:number>/reconnected/", views_arrears.record_reconnected, name="case_reconnected"
    ),
    path("guarantees/", views_arrears.guarantee_list, name="guarantees"),
    path("guarantees/<int:pk>/end/", views_arrears.end_guarantee, name="guarantee_end"),
    path("supervision/", views_arrears.supervision_list, name="supervision"),
    path("supervision/<int:pk>/", views_arrears.supervision_run, name="supervision_run"),
    path("supervision/<int:pk>/print/", views_arrears.supervision_print, name="supervision_print"),
    path("prepaid/", views_arrears.prepaid_list, name="prepaid"),
    path("prepaid/<str:account_no>/", views_arrears.prepaid_account, name="prepaid_account"),
]

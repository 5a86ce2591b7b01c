"""Pages of 业扩报装 under /applications/. Each area of the app adds its routes here."""

from django.urls import URLPattern, URLResolver, path

from . import views, views_callbacks, views_documents, views_figures, views_survey

app_name = "applications"
urlpatterns: list[URLPattern | URLResolver] = [
    path("callbacks/", views_callbacks.work_list, name="callbacks"),
    path("callbacks/<int:pk>/", views_callbacks.callback, name="callback"),
    path("audit-cases/", views_callbacks.audit_cases, name="audit_cases"),
    path("audit-cases/<str:number>/", views_callbacks.audit_case, name="audit_case"),
    path("figures/", views_figures.figures_page, name="figures"),
    path("<str:number>/documents/<slug:kind>.pdf", views_documents.document, name="document"),
    path("<str:number>/survey/", views_survey.survey_page, name="survey"),
    path("<str:number>/plan/", views_survey.plan_options, name="plan_options"),
    path("<str:number>/inspections/", views_survey.inspections, name="inspections"),
    path("<str:number>/energization/", views_survey.energization, name="energization"),
    path("", views.application_list, name="list"),
    path("new/", views.accept, name="accept"),
    path("lookup/", views.lookup, name="lookup"),
    path("customer/<str:account_no>/", views.customer_card, name="customer_card"),
    path("<str:number>/", views.detail, name="detail"),
    path("<str:number>/progress/", views.progress, name="progress"),
    path("<str:number>/personal-data/", views.reveal, name="reveal"),
    path("<str:number>/nodes/<str:node>/<str:action>/", views.node_action, name="node_action"),
    path("<str:number>/actions/<str:action>/", views.application_action, name="action"),
]

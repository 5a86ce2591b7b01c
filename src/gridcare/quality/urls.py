from django.urls import path

from . import kiosk, views

app_name = "quality"
urlpatterns = [
    path("statistics/", views.overview, name="overview"),
    path("statistics/m/<slug:code>/", views.metric, name="metric"),
    path("statistics/m/<slug:code>/rows/", views.rows, name="rows"),
    path("bulletins/", views.bulletins, name="bulletins"),
    path("bulletins/<int:pk>/", views.bulletin, name="bulletin"),
    path("agents/", views.agents, name="agents"),
    path("agents/<int:pk>/", views.agent, name="agent"),
    path("me/", views.me, name="me"),
    path("inspections/", views.inspections, name="inspections"),
    path("inspections/<int:pk>/", views.inspection_detail, name="inspection"),
    path("inspections/<int:inspection_pk>/calibrate/", views.calibration_new, name="calibration_new"),
    path("calibrations/", views.calibrations, name="calibrations"),
    path("calibrations/<int:pk>/", views.calibration_detail, name="calibration"),
    path("wall/", kiosk.screen, name="wall"),
    path("wall/data/", kiosk.data, name="wall_data"),
    path("wall/open/<str:key>/", kiosk.open_screen, name="wall_open"),
    path("staffing/", views.staffing_page, name="staffing"),
]

"""Django's own user and group lists, with the console's bounded search (orderops.search)."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from orderops.admin_search import BoundedSearchAdmin


class BoundedUserAdmin(BoundedSearchAdmin, UserAdmin):
    pass


class BoundedGroupAdmin(BoundedSearchAdmin, GroupAdmin):
    pass


for model, model_admin in ((User, BoundedUserAdmin), (Group, BoundedGroupAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)

"""The admin lists' bounded search: every list with a search box considers a bounded term (orderops.search)
and says on the page when it cut."""

from django.contrib import admin, messages

from orderops.search import BoundedTerm, search_term_bound


class BoundedSearchAdmin(admin.ModelAdmin):
    """A ModelAdmin whose search considers a bounded term (search_term_bound) and says so on the page when
    it cut. Every admin list with a search box derives from it (a test walks the admin site's registry)."""

    def get_search_results(self, request, queryset, search_term):
        bounded = search_term_bound(search_term)
        if bounded.capped:
            self.message_user(request, bounded.notice(), messages.WARNING)
        return self.get_bounded_search_results(request, queryset, bounded)

    def get_bounded_search_results(self, request, queryset, bounded: BoundedTerm):
        """The search itself, over a term already cut: Django's own by default (one condition per word)."""
        return super().get_search_results(request, queryset, bounded.text)

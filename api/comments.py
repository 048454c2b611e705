"""Internal comments: anyone who may view orders reads and adds them, whoever holds the order."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView, StrictSerializer
from api.problems import refusal_problem
from orders.models import OrderComment
from orders.results import RequestRefused, user_display_name
from orders.services import order_comment_add


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = OrderComment
        fields = ("id", "author", "author_name", "body", "created_at")

    def get_author_name(self, comment: OrderComment) -> str:
        return user_display_name(comment.author)


class CommentAddSerializer(StrictSerializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)


class OrderCommentsView(ApiView):
    idempotent = True

    @extend_schema(operation_id="comments_list", responses=CommentSerializer(many=True))
    def get(self, request: Request, number: str) -> Response:
        comments = OrderComment.objects.filter(order_id=self.order_id(number)).select_related("author")
        return Response(CommentSerializer(comments, many=True).data)

    @extend_schema(
        operation_id="comments_add", request=CommentAddSerializer, responses={201: CommentSerializer}
    )
    def post(self, request: Request, number: str) -> Response:
        order_id = self.order_id(number)  # anyone who may view orders (the view's permission)
        body = self.body(CommentAddSerializer, number=number)
        try:
            comment = order_comment_add(actor=request.user, order_id=order_id, body=body["body"])
        except RequestRefused as refused:
            raise refusal_problem(refused, order=number) from None
        return Response(CommentSerializer(comment).data, status=201)

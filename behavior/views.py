"""ViewSets for authoring resources on Parlant's paths."""

from rest_framework import status, viewsets
from rest_framework.response import Response

from behavior.models import Agent
from behavior.serializers import AgentSerializer


class AgentViewSet(viewsets.ModelViewSet):
    serializer_class = AgentSerializer
    queryset = Agent.objects.prefetch_related("tags").order_by("created_at", "id")
    http_method_names = ["get", "post", "patch", "delete"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        agent = serializer.save()
        return Response(self.get_serializer(agent).data, status=status.HTTP_201_CREATED)

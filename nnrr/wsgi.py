import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nnrr.settings")
application = get_wsgi_application()

# Production never serves as a database role that could lift the audit log's triggers.
from nnrr.audit.startup import refuse_unsafe_role  # noqa: E402

refuse_unsafe_role()

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=config.settings.base \
    STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY requirements/ requirements/
RUN pip install --no-cache-dir -r requirements/base.txt
COPY . .
RUN SECRET_KEY=build python manage.py collectstatic --noinput
RUN useradd --system app && chown -R app /app
USER app
EXPOSE 8000

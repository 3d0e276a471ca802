from django.db import migrations, models

class Migration(migrations.Migration):
    replaces = [("chat", "0001_a"), ("chat", "0002_b")]
    dependencies = [("chat", "0001_initial"), ("auth", "__first__")]
    operations = [
        migrations.AddField(model_name="message", name="edited_at", field=models.DateTimeField(null=True)),
        migrations.CreateModel(name="Room", fields=[("id", models.AutoField(primary_key=True))]),
    ]

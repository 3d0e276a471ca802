[Migration("20260301000000_AddEditedAt")]
migrationBuilder.CreateTable(
    name: "rooms", columns: table => new { });
migrationBuilder.AddColumn<DateTime>(
    name: "edited_at",
    table: "messages");

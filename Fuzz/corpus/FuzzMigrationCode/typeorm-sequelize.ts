1772323200000-AddEditedAt.ts
export class AddEditedAt1772323200000 implements MigrationInterface {
  name = 'AddEditedAt1772323200000'
  async up(q: QueryRunner) { await q.query(`ALTER TABLE "messages" ADD "edited_at" TIMESTAMP`); }
}
module.exports = { up: (qi, S) => qi.addColumn("Messages", "editedAt", { type: S.DATE }) };

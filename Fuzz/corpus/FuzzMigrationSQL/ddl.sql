CREATE TABLE "messages" ("id" TEXT NOT NULL, CONSTRAINT "m_pkey" PRIMARY KEY ("id"));
ALTER TABLE ONLY messages ADD COLUMN IF NOT EXISTS edited_at timestamptz, RENAME COLUMN a TO b;
CREATE TYPE "Role" AS ENUM ('A');
--changeset alice:2
$$ body $$; E'\x';

